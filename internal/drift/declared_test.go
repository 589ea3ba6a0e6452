package drift_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/testwait"
)

// What the tests of one declared source share: the app a source path
// makes, the scan that must find nothing, a scan's changes with who owns
// them, and the wait for a new CRD's schema.

// shop is the example application: Deployments, Services, ConfigMaps and
// a Secret.
const shop = "../../examples/shop"

// owned is one change as a scan reports it, with the manager that owns it
// live ("" for a removed field, and Path "-" for a missing or unmanaged
// object).
type owned struct{ Object, Path, Type, Manager string }

// appAt is the source at src (a file or a folder), scanned in ns.
func appAt(ns, src string) app {
	return app{ns: ns, file: src, source: src, opts: source.Options{Namespace: ns}}
}

// requireInSync fails the test with the findings unless a scan with opts
// compares every declared object and finds each one as declared.
func requireInSync(t *testing.T, a app, opts drift.Options) drift.Result {
	t.Helper()
	r := scanWith(t, a, opts)
	if len(r.Findings) != 0 || r.Objects == 0 || r.InSync != r.Objects {
		t.Fatalf("%d of %d objects in sync, want all; changes: %v", r.InSync, r.Objects, ownedChangesOf(r))
	}
	return r
}

// ownedChangesOf flattens a scan to comparable lines, one per change with
// its manager, and one per missing or unmanaged object, in the order of
// changesOf.
func ownedChangesOf(r drift.Result) []owned {
	var out []owned
	for _, f := range r.Findings {
		obj := f.Kind + "/" + f.Name
		if f.State != drift.StateDrifted {
			out = append(out, owned{Object: obj, Path: "-", Type: string(f.State)})
			continue
		}
		for _, c := range f.Changes {
			out = append(out, owned{obj, c.Path, string(c.Type), c.Manager})
		}
	}
	slices.SortFunc(out, func(a, b owned) int {
		if c := strings.Compare(a.Object, b.Object); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out
}

// waitForOpenAPI waits until the server publishes the OpenAPI v3 schema of
// groupVersion (a CRD's, a moment after it is established): a scan before
// that compares the kind's lists as atomic and its fields without types.
func waitForOpenAPI(t *testing.T, groupVersion string) {
	t.Helper()
	env := drift.SharedEnv()
	testwait.For(t, 60*time.Second, "the OpenAPI v3 schema of "+groupVersion, func() bool {
		return strings.Contains(env.Kubectl(t, "", "get", "--raw", "/openapi/v3"), strconv.Quote("apis/"+groupVersion))
	})
}
