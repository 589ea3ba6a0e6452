package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// form is how a manifest set is written, and so how each tool is given it.
type form string

const (
	// formFiles is plain YAML: files or folders of them, given to kubectl
	// and plumb as they are (-f PATH, --source PATH).
	formFiles form = "files"
	// formKustomize is a kustomize root: kubectl -k DIR, plumb --source DIR.
	formKustomize form = "kustomize"
	// formChart is a Helm chart: plumb renders it itself (--source DIR);
	// kubectl is given the harness's rendering (-f FILE), see renderChart.
	formChart form = "chart"
)

// chartOutput is what kubectl is given of a chart.
type chartOutput string

const (
	// chartInstalled is the rendering with the metadata helm install
	// writes on every object: what a Helm installation holds.
	chartInstalled chartOutput = "installed"
	// chartTemplated is `helm template`'s output as it is: only what the
	// templates render.
	chartTemplated chartOutput = "templated"
)

// manifestSet is a set of real-world manifests deployed and scanned as one.
type manifestSet struct {
	name string
	form form
	// paths are relative to the real-world folder (internal/realworld).
	paths []string
}

// realWorldSets are the sets -accuracy measures, in the order it prints
// them. Each is an unmodified upstream folder or file; SOURCES.md in the
// real-world folder says where each comes from.
var realWorldSets = []manifestSet{
	{name: "microservices-demo", form: formFiles, paths: []string{"microservices-demo/release/kubernetes-manifests.yaml"}},
	{name: "podinfo-kustomize", form: formKustomize, paths: []string{"podinfo/kustomize"}},
	{name: "ingress-nginx", form: formFiles, paths: []string{"ingress-nginx/deploy/static/provider/cloud/deploy.yaml"}},
	{name: "vpa", form: formKustomize, paths: []string{"autoscaler/vertical-pod-autoscaler/deploy"}},
	// The three examples declare the same names; one of them (the one
	// with a HorizontalPodAutoscaler) goes with the controller and CRD.
	{name: "balancer", form: formFiles, paths: []string{"autoscaler/balancer/deploy", "autoscaler/balancer/examples/nginx-priority-hpa.yaml"}},
	{name: "podinfo-chart", form: formChart, paths: []string{"podinfo/charts/podinfo"}},
	{name: "traefik-chart", form: formChart, paths: []string{"traefik-helm-chart/traefik"}},
	{name: "keda-chart", form: formChart, paths: []string{"kedacore-charts/keda"}},
}

// selectSets returns the sets named in the comma-separated list (all when
// it is empty), in realWorldSets' order.
func selectSets(names string) ([]manifestSet, error) {
	if strings.TrimSpace(names) == "" {
		return realWorldSets, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		want[strings.TrimSpace(n)] = true
	}
	var out []manifestSet
	for _, s := range realWorldSets {
		if want[s.name] {
			out = append(out, s)
			delete(want, s.name)
		}
	}
	if len(want) > 0 {
		var known []string
		for _, s := range realWorldSets {
			known = append(known, s.name)
		}
		var unknown []string
		for n := range want {
			unknown = append(unknown, n)
		}
		slices.Sort(unknown)
		return nil, fmt.Errorf("-sets: unknown %s (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// rendered is a set made ready for one namespace: the objects as the
// tools see them, in the order kubectl applies them, and the arguments
// that give the set to each tool.
type rendered struct {
	objects []*unstructured.Unstructured
	// kubectlArgs select the set for kubectl apply, diff and delete:
	// -f PATH…, -k DIR or -f RENDERED.
	kubectlArgs []string
	// plumbArgs select it for plumb scan: --source PATH….
	plumbArgs []string
}

// render reads set s from folder dir for namespace ns (a chart's release
// namespace). kubectl is the pinned kubectl (kustomize builds); a chart's
// rendering, as chart says, is written into work.
func (s manifestSet) render(ctx context.Context, dir, kubectl, work, ns string, kubeVersion *common.KubeVersion, chart chartOutput) (*rendered, error) {
	r := &rendered{}
	abs := make([]string, len(s.paths))
	for i, p := range s.paths {
		abs[i] = filepath.Join(dir, p)
		r.plumbArgs = append(r.plumbArgs, "--source", abs[i])
	}
	var docs [][]byte
	switch s.form {
	case formFiles:
		for _, p := range abs {
			files, err := manifestFiles(p)
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					return nil, err
				}
				docs = append(docs, data)
			}
			r.kubectlArgs = append(r.kubectlArgs, "-f", p)
		}
	case formKustomize:
		if len(abs) != 1 {
			return nil, fmt.Errorf("set %s: a kustomize set has one root", s.name)
		}
		out, err := exec.CommandContext(ctx, kubectl, "kustomize", abs[0]).Output()
		if err != nil {
			return nil, fmt.Errorf("set %s: kubectl kustomize: %w", s.name, exitDetail(err))
		}
		docs = append(docs, out)
		r.kubectlArgs = []string{"-k", abs[0]}
	case formChart:
		if len(abs) != 1 {
			return nil, fmt.Errorf("set %s: a chart set has one chart", s.name)
		}
		out, err := renderChart(ctx, abs[0], ns, kubeVersion, chart)
		if err != nil {
			return nil, fmt.Errorf("set %s: %w", s.name, err)
		}
		file := filepath.Join(work, s.name+"-"+ns+"-"+string(chart)+".yaml")
		if err := os.WriteFile(file, out, 0o644); err != nil {
			return nil, err
		}
		docs = append(docs, out)
		r.kubectlArgs = []string{"-f", file}
	default:
		return nil, fmt.Errorf("set %s: unknown form %q", s.name, s.form)
	}
	for _, d := range docs {
		objs, err := decodeObjects(d)
		if err != nil {
			return nil, fmt.Errorf("set %s: %w", s.name, err)
		}
		r.objects = append(r.objects, objs...)
	}
	if len(r.objects) == 0 {
		return nil, fmt.Errorf("set %s: no objects", s.name)
	}
	return r, nil
}

// manifestFiles lists the files kubectl -f PATH reads: PATH itself, or
// the .yaml, .yml and .json files directly in the folder, in name order.
func manifestFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				out = append(out, filepath.Join(path, e.Name()))
			}
		}
	}
	return out, nil
}

// decodeObjects splits a YAML stream into objects, leaving out empty
// documents.
func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue
		}
		// apimachinery's json keeps whole numbers int64, as client-go does.
		var m map[string]any
		if err := utiljson.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// renderChart renders the chart in dir as `helm template` does (the Helm
// SDK's install with a client-side dry run: no hooks, no crds/ folder)
// for a release named after the chart in namespace ns. As chartInstalled
// it adds what `helm install` writes on every object besides
// (helm.sh/helm/v4/pkg/action setMetadataVisitor: the managed-by label and
// the release annotations), so that what kubectl applies is what a Helm
// installation holds; as chartTemplated it leaves the rendering as it is,
// as `helm template | kubectl apply` deploys it.
func renderChart(ctx context.Context, dir, ns string, kubeVersion *common.KubeVersion, chart chartOutput) ([]byte, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	inst := action.NewInstall(action.NewConfiguration())
	inst.DryRunStrategy = action.DryRunClient
	inst.Replace = true
	inst.ReleaseName, inst.Namespace = ch.Name(), ns
	inst.KubeVersion = kubeVersion
	rel, err := inst.RunWithContext(ctx, ch, map[string]any{})
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", dir, err)
	}
	r, ok := rel.(*releasev1.Release)
	if !ok {
		return nil, fmt.Errorf("render chart %s: unexpected release type %T", dir, rel)
	}
	objs, err := decodeObjects([]byte(r.Manifest))
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", dir, err)
	}
	var out bytes.Buffer
	for _, u := range objs {
		if chart == chartInstalled {
			addReleaseMetadata(u, inst.ReleaseName, ns)
		}
		y, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(y)
	}
	return out.Bytes(), nil
}

// addReleaseMetadata writes on u what helm install writes on every object
// of release name in namespace ns.
func addReleaseMetadata(u *unstructured.Unstructured, name, ns string) {
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels["app.kubernetes.io/managed-by"] = "Helm"
	u.SetLabels(labels)
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann["meta.helm.sh/release-name"], ann["meta.helm.sh/release-namespace"] = name, ns
	u.SetAnnotations(ann)
}

// exitDetail adds a failed command's standard error to its error.
func exitDetail(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, tail(ee.Stderr))
	}
	return err
}

// tail is the end of a command's output, for an error message.
func tail(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		return "…" + string(b[len(b)-2000:])
	}
	return string(b)
}
