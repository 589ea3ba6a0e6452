package drift_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/drift"
)

// cacheCRD declares a kind whose schema defaults two fields and keys a
// list by name, the way operators' CRDs do.
const cacheCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: caches.shop.example.com
spec:
  group: shop.example.com
  names: {kind: Cache, plural: caches, singular: cache}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: string, default: small}
                replicas: {type: integer, default: 1}
                memory: {type: string}
                shards:
                  type: array
                  x-kubernetes-list-type: map
                  x-kubernetes-list-map-keys: [name]
                  items:
                    type: object
                    required: [name]
                    properties:
                      name: {type: string}
                      weight: {type: integer, default: 10}
`

// TestCustomResourcesWithSchemaDefaults declares an instance of a CRD
// without the fields its schema defaults: a scan finds it in sync, and a
// real change to it is found with the list key in the path and the
// instance's apiVersion.
func TestCustomResourcesWithSchemaDefaults(t *testing.T) {
	t.Parallel()
	env := drift.SharedEnv()
	a := appAt(env.Namespace(t), filepath.Join(t.TempDir(), "caches.yaml"))
	instance := `apiVersion: shop.example.com/v1
kind: Cache
metadata:
  name: sessions
spec:
  memory: 1Gi
  shards:
    - name: a
    - name: b
      weight: 20
`
	if err := os.WriteFile(a.source, []byte(instance), 0o644); err != nil {
		t.Fatal(err)
	}
	env.Kubectl(t, cacheCRD, "apply", "--server-side", "-f", "-")
	env.Kubectl(t, "", "wait", "--for=condition=Established", "crd/caches.shop.example.com", "--timeout=60s")
	waitForOpenAPI(t, "shop.example.com/v1")
	k := kubectlIn(t, a.ns)
	k("", "apply", "--server-side", "-f", a.source)

	live := env.Kubectl(t, "", "-n", a.ns, "get", "cache", "sessions", "-o", "jsonpath={.spec.size} {.spec.replicas} {.spec.shards[0].weight}")
	if live != "small 1 10" {
		t.Fatalf("the server did not apply the schema defaults: %q", live)
	}
	requireInSync(t, a, drift.DefaultOptions())

	k("", "patch", "cache", "sessions", "--type=json", "-p", `[{"op":"replace","path":"/spec/shards/1/weight","value":30}]`)
	r := scan(t, a)
	want := []owned{{"Cache/sessions", `.spec.shards[name="b"].weight`, "modified", "kubectl-patch"}}
	if d := cmp.Diff(want, ownedChangesOf(r)); d != "" {
		t.Fatalf("changes (-want +got):\n%s", d)
	}
	if !strings.Contains(r.Findings[0].APIVersion, "shop.example.com/v1") {
		t.Errorf("apiVersion = %q", r.Findings[0].APIVersion)
	}
}
