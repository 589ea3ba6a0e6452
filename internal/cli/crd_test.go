package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// crd declares a kind whose schema defaults two fields and keys a list by
// name, the way operators' CRDs do.
const crd = `apiVersion: apiextensions.k8s.io/v1
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

// TestCustomResourcesWithSchemaDefaults declares instances of a CRD without
// the fields its schema defaults: no false alarm, and a real change to an
// instance is found with its list key in the path.
func TestCustomResourcesWithSchemaDefaults(t *testing.T) {
	ns := env.Namespace(t)
	dir := t.TempDir()
	instances := `apiVersion: shop.example.com/v1
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
	src := filepath.Join(dir, "caches.yaml")
	if err := os.WriteFile(src, []byte(instances), 0o644); err != nil {
		t.Fatal(err)
	}
	env.Kubectl(t, crd, "apply", "--server-side", "-f", "-")
	env.Kubectl(t, "", "wait", "--for=condition=Established", "crd/caches.shop.example.com", "--timeout=60s")
	// The server publishes a new CRD's OpenAPI schema a moment after it is
	// established; a scan before that compares its lists as atomic.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(env.Kubectl(t, "", "get", "--raw", "/openapi/v3"), "apis/shop.example.com/v1") {
		if time.Now().After(deadline) {
			t.Fatal("the CRD's OpenAPI v3 schema was never published")
		}
		time.Sleep(200 * time.Millisecond)
	}
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", src)

	live := env.Kubectl(t, "", "-n", ns, "get", "cache", "sessions", "-o", "jsonpath={.spec.size} {.spec.replicas} {.spec.shards[0].weight}")
	if live != "small 1 10" {
		t.Fatalf("the server did not apply the schema defaults: %q", live)
	}
	requireInSync(t, ns, "--source", src)

	env.Kubectl(t, "", "-n", ns, "patch", "cache", "sessions", "--type=json", "-p", `[{"op":"replace","path":"/spec/shards/1/weight","value":30}]`)
	_, r, _ := scanJSON(t, ns, "--source", src)
	want := []seen{{"Cache/sessions", `.spec.shards[name="b"].weight`, "modified", "kubectl-patch"}}
	if diff := cmp.Diff(want, changesOf(r)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.Findings[0].APIVersion, "shop.example.com/v1") {
		t.Errorf("apiVersion = %q", r.Findings[0].APIVersion)
	}
}
