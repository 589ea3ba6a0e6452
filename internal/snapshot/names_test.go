package snapshot

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestFileNames: ordinary names are written as they are; a long or unusual
// one as a readable part of it and 8 hex digits of a hash of the object's
// identity, the same on every run; names that would otherwise agree (a
// name that looks like another's hashed one; kinds of two groups that
// differ only in case) are all hashed, so no two objects share a file.
// The hashes are SHA-256 of "object", group, kind, namespace and name
// (or "namespace" and the namespace), joined by NUL, as sha256sum gives.
func TestFileNames(t *testing.T) {
	for _, tt := range []struct {
		name string
		objs []*unstructured.Unstructured
		want []string
	}{
		{
			name: "ordinary",
			objs: []*unstructured.Unstructured{object("v1", "ConfigMap", "shop", "web.v2_x-1"), object("rbac.authorization.k8s.io/v1", "ClusterRole", "", "reader")},
			want: []string{"shop/configmap-web.v2_x-1.yaml", "_cluster/clusterrole-reader.yaml"},
		},
		{
			name: "unusual",
			objs: []*unstructured.Unstructured{
				object("v1", "ConfigMap", "shop", strings.Repeat("a", 253)),
				object("example.com/v1", "Widget", "shop", "x\nnamespace: evil"),
				object("example.com/v1", "Widget", "shop", "../../escape"),
				object("example.com/v1", "Widget", "shop", "\x1b[2Jclear"),
				object("rbac.authorization.k8s.io/v1", "ClusterRole", "", "cert-manager:leader-election"),
				object("example.com/v1", "Widget", "UPPER", "ünïcode"),
			},
			want: []string{
				"shop/configmap-" + strings.Repeat("a", 81) + "-16054984.yaml",
				"shop/widget-x_namespace__evil-301a5c54.yaml",
				"shop/widget-.._.._escape-f0a84ee1.yaml",
				"shop/widget-__2jclear-dbe9ef2a.yaml",
				"_cluster/clusterrole-cert-manager_leader-election-3c8aa2e2.yaml",
				"upper-55a70be1/widget-_n_code-6fb321f8.yaml",
			},
		},
		{
			name: "a plain name like a hashed one",
			objs: []*unstructured.Unstructured{object("v1", "ConfigMap", "shop", "Web"), object("v1", "ConfigMap", "shop", "web-819de330")},
			want: []string{"shop/configmap-web-819de330.yaml", "shop/configmap-web-819de330-1a93f2e6.yaml"},
		},
		{
			name: "kinds alike but for case",
			objs: []*unstructured.Unstructured{object("v1", "ConfigMap", "shop", "web"), object("example.com/v1", "Configmap", "shop", "web")},
			want: []string{"shop/configmap-web-25b1f252.yaml", "shop/configmap-web-1fbb44b3.yaml"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fileNames(tt.objs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
