package source

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestLoadKustomizePodinfo(t *testing.T) {
	root := filepath.Join(realWorld, "podinfo", "kustomize")
	got := Load(context.Background(), []string{root}, Options{})
	if len(got.Errors) != 0 {
		t.Fatalf("errors: %v", got.Errors)
	}
	origin := func(file string) Origin {
		return Origin{Path: filepath.Join(root, file), Line: 1, Kustomization: root}
	}
	// In the order of the kustomization's resources, each from its file.
	want := []loaded{
		{Object: "HorizontalPodAutoscaler podinfo", Origin: origin("hpa.yaml")},
		{Object: "Deployment podinfo", Origin: origin("deployment.yaml")},
		{Object: "Service podinfo", Origin: origin("service.yaml")},
	}
	if diff := cmp.Diff(want, summarizeSet(got)); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	// Numbers decode as from a file: int64.
	hpa := got.Objects[0].Object
	if v, _, _ := unstructured.NestedFieldNoCopy(hpa.Object, "spec", "maxReplicas"); v != int64(4) {
		t.Errorf("HPA spec.maxReplicas = %#v, want int64(4)", v)
	}
	// No namespace is defaulted.
	if ns := got.Objects[1].Object.GetNamespace(); ns != "" {
		t.Errorf("Deployment namespace = %q, want none", ns)
	}
}

func TestLoadKustomization(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		want     []loaded
		wantErrs []Error
		// wantMessage is a substring of each error's message.
		wantMessage string
	}{
		{
			name: "kustomization.yml with a transformer",
			files: map[string]string{
				"kustomization.yml": "resources:\n- cm.yaml\nlabels:\n- pairs:\n    team: a\n",
				"cm.yaml":           configMap("cm"),
			},
			want: []loaded{{Object: "ConfigMap cm", Origin: Origin{Path: "cm.yaml", Line: 1}}},
		},
		{
			name: "overlay of a base, two objects in a file",
			files: map[string]string{
				"kustomization.yaml":      "resources:\n- base\nnamePrefix: prod-\n",
				"base/kustomization.yaml": "resources:\n- cms.yaml\n",
				"base/cms.yaml":           configMap("a") + "---\n# the second\n" + configMap("b"),
			},
			want: []loaded{
				{Object: "ConfigMap prod-a", Origin: Origin{Path: "base/cms.yaml", Line: 1}},
				{Object: "ConfigMap prod-b", Origin: Origin{Path: "base/cms.yaml", Line: 7}},
			},
		},
		{
			name: "origin annotations the kustomization asks for stay",
			files: map[string]string{
				"kustomization.yaml": "resources:\n- cm.yaml\nbuildMetadata: [originAnnotations]\n",
				"cm.yaml":            configMap("cm"),
			},
			want: []loaded{{Object: "ConfigMap cm", Origin: Origin{Path: "cm.yaml", Line: 1}}},
		},
		{
			name: "Kustomization with a generator",
			files: map[string]string{
				"Kustomization": "configMapGenerator:\n- name: gen\n  literals:\n  - a=b\n  options:\n    disableNameSuffixHash: true\n",
			},
			want: []loaded{{Object: "ConfigMap gen", Origin: Origin{Path: "Kustomization"}}},
		},
		{
			name: "missing resource",
			files: map[string]string{
				"kustomization.yaml": "resources:\n- missing.yaml\n",
			},
			wantErrs:    []Error{{Path: "kustomization.yaml"}},
			wantMessage: "kustomize build ",
		},
		{
			name: "invalid kustomization",
			files: map[string]string{
				"kustomization.yaml": "resources: [\n",
			},
			wantErrs:    []Error{{Path: "kustomization.yaml"}},
			wantMessage: "kustomize build ",
		},
		{
			// kustomize itself rejects it.
			name: "resource without a name",
			files: map[string]string{
				"kustomization.yaml": "resources:\n- cm.yaml\n",
				"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: x-\n",
			},
			wantErrs:    []Error{{Path: "kustomization.yaml"}},
			wantMessage: "kustomize build ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			for i := range tt.want {
				tt.want[i].Origin.Path = filepath.Join(root, tt.want[i].Origin.Path)
				tt.want[i].Origin.Kustomization = root
			}
			for i := range tt.wantErrs {
				tt.wantErrs[i].Path = filepath.Join(root, tt.wantErrs[i].Path)
			}

			got := Load(context.Background(), []string{root}, Options{})
			asked := strings.Contains(tt.files["kustomization.yaml"], "originAnnotations")
			for _, o := range got.Objects {
				if _, has := o.Object.GetAnnotations()["config.kubernetes.io/origin"]; has != asked {
					t.Errorf("%s has the origin annotation: %v, want %v", o.Object.GetName(), has, asked)
				}
			}

			if diff := cmp.Diff(tt.want, summarizeSet(got)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, got.Errors, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Error{}, "Message")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			for _, e := range got.Errors {
				if !strings.Contains(e.Message, tt.wantMessage) {
					t.Errorf("error %q does not contain %q", e.Message, tt.wantMessage)
				}
			}
		})
	}
}
