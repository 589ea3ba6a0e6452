package skew

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/table"
)

func declared(kind, name string, obj map[string]any) map[drift.ObjectKey]drift.Declaration {
	group := ""
	if kind == "Deployment" {
		group = "apps"
	}
	obj["kind"] = kind
	return map[drift.ObjectKey]drift.Declaration{
		{Group: group, Kind: kind, Namespace: "shop", Name: name}: drift.DeclarationOf(source.Object{Object: &unstructured.Unstructured{Object: obj}}, "shop"),
	}
}

func deploy(image string) map[string]any {
	return map[string]any{"apiVersion": "apps/v1", "spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []any{map[string]any{"name": "api", "image": image}}}}}}
}

const imagePath = `.spec.template.spec.containers[name="api"].image`

func drifted(kind, name string, changes ...drift.Change) []drift.Finding {
	apiVersion := "v1"
	if kind == "Deployment" {
		apiVersion = "apps/v1"
	}
	return []drift.Finding{{APIVersion: apiVersion, Kind: kind, Namespace: "shop", Name: name, State: drift.StateDrifted, Changes: changes}}
}

func TestValuesExplainedDifferencesAreNotSkew(t *testing.T) {
	// Each cluster runs what its own rendering declares.
	r := Compute([]Cluster{
		{Name: "eu", Result: drift.Result{Declared: declared("Deployment", "api", deploy("api:1.4.2-eu"))}},
		{Name: "us", Result: drift.Result{Declared: declared("Deployment", "api", deploy("api:1.4.2-us"))}},
	}, "")
	if r.Found() {
		t.Errorf("skew found where values explain the difference: %+v", r.Groups)
	}
}

func TestDriftOnOneClusterIsSkew(t *testing.T) {
	r := Compute([]Cluster{
		{Name: "eu", Labels: map[string]string{"env": "prod"}, Result: drift.Result{Declared: declared("Deployment", "api", deploy("api:1.4.2"))}},
		{Name: "us", Labels: map[string]string{"env": "prod"}, Result: drift.Result{Declared: declared("Deployment", "api", deploy("api:1.4.2")),
			Findings: drifted("Deployment", "api", drift.Change{Path: imagePath, Type: drift.ChangeModified, Desired: "api:1.4.2", Live: "api:1.4.0"})}},
		{Name: "dev", Labels: map[string]string{"env": "dev"}, Result: drift.Result{Declared: declared("Deployment", "api", deploy("api:2.0.0"))}},
	}, "env")
	want := []Group{
		{Name: "env=dev", Clusters: []string{"dev"}, Objects: []Object{}},
		{Name: "env=prod", Clusters: []string{"eu", "us"}, Objects: []Object{{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api",
			Differences: []Difference{{Path: imagePath, Values: map[string]any{"eu": "api:1.4.2", "us": "api:1.4.0"}, Drifted: []string{"us"}}}}}},
	}
	if diff := cmp.Diff(want, r.Groups); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSecretValuesStayRedacted(t *testing.T) {
	secret := func() map[string]any {
		return map[string]any{"apiVersion": "v1", "data": map[string]any{"token": "c2VjcmV0"}}
	}
	r := Compute([]Cluster{
		{Name: "eu", Result: drift.Result{Declared: declared("Secret", "creds", secret())}},
		{Name: "us", Result: drift.Result{Declared: declared("Secret", "creds", secret()),
			Findings: drifted("Secret", "creds", drift.Change{Path: ".data.token", Type: drift.ChangeModified, Desired: drift.Redacted, Live: drift.Redacted})}},
	}, "")
	if !r.Found() {
		t.Fatal("a Secret changed on one cluster only is skew")
	}
	var b strings.Builder
	if err := Write(&b, r, "json", table.Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "c2VjcmV0") {
		t.Errorf("skew report shows a Secret value:\n%s", b.String())
	}
}

// TestEqualQuantitiesAreNotSkew: two clusters that drifted to the same
// amount spelt two ways (2Gi, 2048Mi) agree; a third with another amount
// is skew.
func TestEqualQuantitiesAreNotSkew(t *testing.T) {
	const memPath = `.spec.template.spec.containers[name="api"].resources.limits.memory`
	obj := func() map[string]any {
		return map[string]any{"apiVersion": "apps/v1", "spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "api", "resources": map[string]any{"limits": map[string]any{"memory": "1Gi"}}}}}}}}
	}
	cluster := func(name, live string) Cluster {
		return Cluster{Name: name, Result: drift.Result{Declared: declared("Deployment", "api", obj()),
			Findings: drifted("Deployment", "api", drift.Change{Path: memPath, Type: drift.ChangeModified, Desired: "1Gi", Live: live, Quantity: true})}}
	}
	if r := Compute([]Cluster{cluster("eu", "2Gi"), cluster("us", "2048Mi")}, ""); r.Found() {
		t.Errorf("skew between 2Gi and 2048Mi: %+v", r.Groups)
	}
	r := Compute([]Cluster{cluster("eu", "2Gi"), cluster("us", "2048Mi"), cluster("ap", "3Gi")}, "")
	if !r.Found() || len(r.Groups[0].Objects) != 1 || r.Groups[0].Objects[0].Differences[0].Path != memPath {
		t.Errorf("3Gi against 2Gi is skew; got %+v", r.Groups)
	}
}

// TestDefaultedFieldShowsTheDefault: a field the source leaves to the
// server's default (replicas), scaled on one cluster, is skew, and the
// cluster that kept the default shows the default, not nothing; scaled
// alike on both, it is not skew.
func TestDefaultedFieldShowsTheDefault(t *testing.T) {
	scaled := drift.Change{Path: ".spec.replicas", Type: drift.ChangeModified, Desired: int64(1), Live: int64(5), Default: true}
	eu := Cluster{Name: "eu", Result: drift.Result{Declared: declared("Deployment", "api", deploy("api:1")), Findings: drifted("Deployment", "api", scaled)}}
	us := Cluster{Name: "us", Result: drift.Result{Declared: declared("Deployment", "api", deploy("api:1"))}}
	r := Compute([]Cluster{eu, us}, "")
	if !r.Found() || len(r.Groups[0].Objects) != 1 {
		t.Fatalf("replicas 5 against the default: want skew, got %+v", r.Groups)
	}
	d := r.Groups[0].Objects[0].Differences[0]
	if d.Path != ".spec.replicas" || d.Values["eu"] != int64(5) || d.Values["us"] != int64(1) || !slices.Equal(d.Drifted, []string{"eu"}) {
		t.Errorf("difference %+v: want replicas eu=5 us=1 (the default), drifted on eu", d)
	}
	us.Result.Findings = drifted("Deployment", "api", scaled)
	if r := Compute([]Cluster{eu, us}, ""); r.Found() {
		t.Errorf("both scaled to 5: %+v", r.Groups)
	}
}

// TestRemovedPortIsSkew: a Service port removed on one cluster is skew,
// although the declaration leaves out the protocol the port is keyed by.
func TestRemovedPortIsSkew(t *testing.T) {
	const portPath = `.spec.ports[port=80,protocol="TCP"]`
	svc := func() map[string]any {
		return map[string]any{"apiVersion": "v1", "spec": map[string]any{"ports": []any{map[string]any{"name": "http", "port": int64(80)}}}}
	}
	port := map[string]any{"name": "http", "port": int64(80), "protocol": "TCP"}
	eu := Cluster{Name: "eu", Result: drift.Result{Declared: declared("Service", "api", svc()),
		Findings: drifted("Service", "api", drift.Change{Path: portPath, Type: drift.ChangeRemoved, Desired: port})}}
	us := Cluster{Name: "us", Result: drift.Result{Declared: declared("Service", "api", svc())}}
	r := Compute([]Cluster{eu, us}, "")
	if !r.Found() || len(r.Groups[0].Objects) != 1 {
		t.Fatalf("port 80 removed on eu: want skew, got %+v", r.Groups)
	}
	if d := r.Groups[0].Objects[0].Differences[0]; d.Path != portPath || d.Values["eu"] != nil || d.Values["us"] == nil {
		t.Errorf("difference %+v: want the port on us, nothing on eu", d)
	}
}

// TestHumanFormats: the table (with and without headers, and wide), -o
// name and a JSONPath template.
func TestHumanFormats(t *testing.T) {
	r := Report{APIVersion: APIVersion, Kind: Kind, Groups: []Group{{Name: "all", Clusters: []string{"eu", "us"}, Objects: []Object{
		{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api",
			Differences: []Difference{{Path: ".spec.replicas", Values: map[string]any{"eu": 2, "us": 3}, Drifted: []string{"us"}}}},
		{APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "flags", MissingOn: []string{"us"}},
	}}}}
	for _, tt := range []struct {
		format string
		opts   table.Options
		want   string
	}{
		{"", table.Options{}, "GROUP   KIND         NAMESPACE   NAME    PATH             VALUES\n" +
			"all     Deployment   shop        api     .spec.replicas   eu=2 us=3*\n" +
			"all     ConfigMap    shop        flags   -                missing on us\n"},
		{"table", table.Options{NoHeaders: true}, "all   Deployment   shop   api     .spec.replicas   eu=2 us=3*\n" +
			"all   ConfigMap    shop   flags   -                missing on us\n"},
		{"name", table.Options{}, "deployment.apps/api\nconfigmap/flags\n"},
		{`jsonpath={.groups[0].objects[*].name}`, table.Options{}, "api flags"},
	} {
		var b strings.Builder
		if err := Write(&b, r, tt.format, tt.opts); err != nil {
			t.Fatalf("-o %s: %v", tt.format, err)
		}
		if diff := cmp.Diff(tt.want, b.String()); diff != "" {
			t.Errorf("-o %q (-want +got):\n%s", tt.format, diff)
		}
	}
}
