package deploytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	chartloader "helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// chartDir is the chart under test.
const chartDir = "../../charts/plumb"

// kubeVersion is the Kubernetes version charts are rendered for: the
// pinned test control plane's minor (hack/k8s), which the chart's
// kubeVersion range must accept.
const kubeVersion = "v1.37.0"

// release names a Helm release.
type release struct{ name, namespace string }

// render renders the chart as `helm template NAME charts/plumb -n NS -f
// values` does and returns the manifest stream and its objects.
func render(rel release, values map[string]any) (string, []*unstructured.Unstructured, error) {
	ch, err := chartloader.Load(chartDir)
	if err != nil {
		return "", nil, err
	}
	caps := common.DefaultCapabilities.Copy()
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		return "", nil, err
	}
	caps.KubeVersion = *kv
	top, err := commonutil.ToRenderValues(ch, values, common.ReleaseOptions{Name: rel.name, Namespace: rel.namespace, Revision: 1, IsInstall: true}, caps)
	if err != nil {
		return "", nil, err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return "", nil, err
	}
	var stream strings.Builder
	var objs []*unstructured.Unstructured
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if strings.HasSuffix(name, "NOTES.txt") || strings.TrimSpace(files[name]) == "" {
			continue
		}
		fmt.Fprintf(&stream, "---\n# Source: %s\n%s\n", name, files[name])
		dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(files[name]), 4096)
		for {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return "", nil, fmt.Errorf("%s: %w", name, err)
			}
			if m != nil {
				objs = append(objs, &unstructured.Unstructured{Object: m})
			}
		}
	}
	return stream.String(), objs, nil
}

// mustRender is render for values that must render.
func mustRender(t testing.TB, rel release, values map[string]any) (string, []*unstructured.Unstructured) {
	t.Helper()
	stream, objs, err := render(rel, values)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return stream, objs
}

// lint runs `helm lint --strict` on the chart with values.
func lint(values map[string]any) error {
	l := action.NewLint()
	l.Strict = true
	l.Namespace = "plumb-system"
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		return err
	}
	l.KubeVersion = kv
	res := l.Run([]string{chartDir}, values)
	return errors.Join(res.Errors...)
}

// values parses YAML into chart values, as -f does.
func values(t testing.TB, y string) map[string]any {
	t.Helper()
	v := map[string]any{}
	if err := sigsyaml.Unmarshal([]byte(y), &v); err != nil {
		t.Fatalf("values: %v\n%s", err, y)
	}
	return v
}

// find returns the rendered object of kind and name, or nil.
func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// mustFind is find for an object that must be there.
func mustFind(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	o := find(objs, kind, name)
	if o == nil {
		var have bytes.Buffer
		for _, o := range objs {
			fmt.Fprintf(&have, " %s/%s", o.GetKind(), o.GetName())
		}
		t.Fatalf("no %s %s rendered; have%s", kind, name, have.String())
	}
	return o
}
