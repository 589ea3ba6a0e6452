package source

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartloader "helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/strvals"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/helmrelease"
)

// hookAnnotation marks a Helm hook (helm.sh/helm/v4/pkg/release/v1
// HookAnnotation). Helm keeps hooks, and tests, which are hooks too, out of
// the release's manifest: it creates them around install, upgrade and test
// runs and often deletes them afterwards. They are not part of the state
// the release keeps in the cluster, so they are not desired objects.
const hookAnnotation = "helm.sh/hook"

// isChartDir reports whether dir holds a Helm chart.
func isChartDir(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "Chart.yaml"))
	return err == nil && fi.Mode().IsRegular()
}

// loadChart renders the chart in dir as `helm template` does, without the
// chart's crds/ directory (like `helm template` without --include-crds) and
// without hooks.
func (l *loader) loadChart(ctx context.Context, dir string) {
	ch, err := chartloader.Load(dir)
	if err != nil {
		l.addError(Error{Path: dir, Message: "load chart: " + err.Error()})
		return
	}
	id := ch.Name() + "-" + ch.Metadata.Version
	fail := func(format string, args ...any) {
		l.addError(Error{Path: dir, Message: "chart " + id + ": " + fmt.Sprintf(format, args...)})
	}
	if ch.Metadata.Type == "library" {
		fail("a library chart cannot be rendered")
		return
	}
	if missing := missingDependencies(ch); len(missing) > 0 {
		fail("dependencies in Chart.yaml but not in charts/ (run helm dependency build): %s", strings.Join(missing, ", "))
		return
	}

	vals, errs := chartValues(l.opts)
	if len(errs) > 0 {
		if !l.valuesReported {
			l.set.Errors = append(l.set.Errors, errs...)
			l.valuesReported = true
		}
		fail("not rendered: invalid Helm values")
		return
	}
	name := l.opts.ReleaseName
	if name == "" {
		name = ch.Name()
	}
	if err := chartutil.ValidateReleaseName(name); err != nil {
		fail("release name %q: %v", name, err)
		return
	}
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		fail("process dependencies: %v", err)
		return
	}
	caps := renderCapabilities()
	if c := ch.Metadata.KubeVersion; c != "" && !chartutil.IsCompatibleRange(c, caps.KubeVersion.String()) {
		fail("chart requires kubeVersion %s, which is incompatible with Kubernetes %s", c, caps.KubeVersion.Version)
		return
	}
	top, err := commonutil.ToRenderValues(ch, vals, common.ReleaseOptions{
		Name:      name,
		Namespace: l.opts.Namespace,
		Revision:  1,
		IsInstall: true,
	}, caps)
	if err != nil {
		fail("%v", err)
		return
	}
	var e engine.Engine // no cluster: lookup returns nothing, as in `helm template`
	files, err := e.RenderWithContext(ctx, ch, top)
	if err != nil {
		if ctx.Err() == nil {
			l.addError(renderError(dir, ch.Name(), id, err))
		}
		return
	}
	// A chart that generates values renders differently every time: render
	// it again and mark what moved (generatedFields).
	var again map[string]string
	lookups := callsLookup(ch)
	if generates(ch) {
		if again, err = e.RenderWithContext(ctx, ch, top); err != nil {
			again = nil
		}
	}

	// Template names start with the chart's name, then the path inside the
	// chart: podinfo/templates/deployment.yaml,
	// podinfo/charts/redis/templates/service.yaml.
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if ctx.Err() != nil {
			return
		}
		content := files[n]
		// The engine leaves partials out; NOTES.txt is text for the user.
		if strings.HasSuffix(n, "NOTES.txt") || strings.HasPrefix(path.Base(n), "_") || strings.TrimSpace(content) == "" {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(n, ch.Name()+"/")))
		var others []*unstructured.Unstructured
		if again != nil && again[n] != content {
			_ = decodeYAMLStream(p, []byte(again[n]), splitHelm, l.opts.Limits.Object, func(d document) { others = append(others, d.object) })
		}
		i := -1
		errs := decodeYAMLStream(p, []byte(content), splitHelm, l.opts.Limits.Object, func(d document) {
			i++
			if isHook(d.object) {
				return
			}
			o := Object{Object: d.object, Origin: Origin{Path: p, Line: d.line, Chart: id}}
			if i < len(others) {
				o.Origin.Generated = generatedFields(d.object.Object, others[i].Object)
			}
			if lookups {
				o.Origin.Generated = appendSecretValues(o.Origin.Generated, d.object)
			}
			setReleaseMetadata(d.object, name, l.opts.Namespace)
			l.add(o)
		})
		l.set.Errors = append(l.set.Errors, errs...)
	}
}

// setReleaseMetadata adds what Helm itself writes on every object of a
// release when it installs or upgrades it (helm.sh/helm/v4/pkg/action's
// setMetadataVisitor): the managed-by label and the release annotations.
// They are part of the desired state: without them, a release installed by
// Helm would show them as drift, because Helm's manager owns them.
func setReleaseMetadata(u *unstructured.Unstructured, release, namespace string) {
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
	ann["meta.helm.sh/release-name"] = release
	ann["meta.helm.sh/release-namespace"] = namespace
	u.SetAnnotations(ann)
}

// isHook reports whether u is annotated as a Helm hook. Like Helm, it
// looks only at the annotation's presence: Helm skips hooks of unknown
// types too.
func isHook(u *unstructured.Unstructured) bool {
	a, _, _ := unstructured.NestedFieldNoCopy(u.Object, "metadata", "annotations")
	m, _ := a.(map[string]any)
	_, ok := m[hookAnnotation]
	return ok
}

// missingDependencies returns the dependencies that ch's Chart.yaml names
// and its charts/ directory lacks, like helm's action.CheckDependencies.
func missingDependencies(ch *chart.Chart) []string {
	var missing []string
	for _, d := range ch.Metadata.Dependencies {
		if !slices.ContainsFunc(ch.Dependencies(), func(c *chart.Chart) bool { return c.Name() == d.Name }) {
			missing = append(missing, d.Name)
		}
	}
	return missing
}

// chartValues merges the user's values as `helm template` does (helm's
// pkg/cli/values.Options.MergeValues): values files in order, each merged
// over the ones before, then each --set expression. The chart's own
// values.yaml is coalesced under these later, by ToRenderValues.
//
// It reads the files anew for every chart so that no chart sees another's
// changes to the maps, none larger than opts.Limits.File.
func chartValues(opts Options) (map[string]any, []Error) {
	base := map[string]any{}
	var errs []Error
	for _, f := range opts.Values {
		data, err := readFile(f, opts.Limits.File)
		if err != nil {
			errs = append(errs, Error{Path: f, Message: "read Helm values: " + pathErrorMessage(err)})
			continue
		}
		m, err := chartloader.LoadValues(bytes.NewReader(data))
		if err != nil {
			errs = append(errs, Error{Path: f, Message: "invalid Helm values: " + err.Error()})
			continue
		}
		base = chartloader.MergeMaps(base, m)
	}
	if opts.ValueMap != nil {
		base = chartloader.MergeMaps(base, opts.ValueMap)
	}
	for _, s := range opts.Set {
		if err := strvals.ParseInto(s, base); err != nil {
			errs = append(errs, Error{Message: fmt.Sprintf("invalid Helm --set %q: %v", s, err)})
		}
	}
	return base, errs
}

// helmLocationRE finds a template location such as
// "podinfo/templates/deployment.yaml:12:3" in a render error, as in
// "execution error at (podinfo/templates/deployment.yaml:12:3): ..." or
// "parse error at (podinfo/templates/deployment.yaml:12): ...".
var helmLocationRE = regexp.MustCompile(`([^\s():"]+):(\d+)(?::\d+)?`)

// renderError reports a render failure at the template Helm names, with the
// template's source line, or at the chart directory if it names none.
func renderError(dir, chartName, id string, err error) Error {
	e := Error{Path: dir, Message: "render chart " + id + ": " + err.Error()}
	for _, m := range helmLocationRE.FindAllStringSubmatch(err.Error(), -1) {
		rel, ok := strings.CutPrefix(m[1], chartName+"/")
		if !ok {
			continue
		}
		e.Path = filepath.Join(dir, filepath.FromSlash(rel))
		e.Line, _ = strconv.Atoi(m[2])
		break
	}
	return e
}

// fallbackKubeVersion is the Kubernetes version charts are rendered for
// when the build does not say which k8s.io/client-go it has (as in test
// binaries). Keep it in step with k8s.io/client-go in go.mod; a test checks.
const fallbackKubeVersion = "v1.37.0"

// renderCapabilities are the capabilities charts are rendered with: Helm's
// defaults (every API version client-go knows) and, like `helm template`,
// the Kubernetes version that matches the k8s.io/client-go we are built
// with. Helm's DefaultCapabilities cannot be used as they are: in a test
// binary they claim Kubernetes v1.20, so charts would render differently in
// tests (podinfo, needing >=1.23, would not render at all).
var renderCapabilities = sync.OnceValue(func() *common.Capabilities {
	caps := common.DefaultCapabilities.Copy()
	if kv, err := common.ParseKubeVersion(clientGoKubeVersion()); err == nil {
		caps.KubeVersion = *kv
	}
	return caps
})

// clientGoKubeVersion returns the Kubernetes version of the k8s.io/client-go
// in the build: client-go v0.X.Y goes with Kubernetes v1.X.
func clientGoKubeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fallbackKubeVersion
	}
	for _, d := range bi.Deps {
		if d.Path != "k8s.io/client-go" {
			continue
		}
		if d.Replace != nil {
			d = d.Replace
		}
		if v, ok := kubeVersionFor(d.Version); ok {
			return v
		}
	}
	return fallbackKubeVersion
}

// kubeVersionFor maps a k8s.io/client-go module version (v0.37.2) to its
// Kubernetes minor version (v1.37.0).
func kubeVersionFor(clientGo string) (string, bool) {
	parts := strings.SplitN(strings.TrimPrefix(clientGo, "v"), ".", 3)
	if len(parts) < 2 || parts[0] != "0" {
		return "", false
	}
	if _, err := strconv.Atoi(parts[1]); err != nil {
		return "", false
	}
	return "v1." + parts[1] + ".0", true
}

// loadRelease reads a live Helm release's latest deployed manifest. Each
// object's origin names the release, the revision, the template (from the
// manifest's "# Source:" comments) and the line in the manifest. Helm's
// release metadata is added as Helm adds it when it applies.
func (l *loader) loadRelease(spec string) {
	ref, err := helmrelease.Parse(spec)
	if err != nil {
		l.addError(Error{Path: spec, Message: err.Error()})
		return
	}
	rel, err := l.opts.Releases.Deployed(ref)
	if err != nil {
		l.addError(Error{Path: spec, Message: err.Error()})
		return
	}
	templates := sourceComments(rel.Manifest)
	name := ref.Namespace + "/" + ref.Name
	errs := decodeYAMLStream(helmrelease.Prefix+name, []byte(rel.Manifest), splitHelm, l.opts.Limits.Object, func(d document) {
		setReleaseMetadata(d.object, ref.Name, ref.Namespace)
		if d.object.GetNamespace() == "" {
			// Helm installs the release's objects into its namespace; the
			// engine ignores it on cluster-scoped kinds.
			d.object.SetNamespace(ref.Namespace)
		}
		l.add(Object{Object: d.object, Origin: Origin{Path: templateAt(templates, d.line), Line: d.line,
			Chart: rel.Chart, Release: name, Revision: rel.Revision}})
	})
	for _, e := range errs {
		e.Path = fmt.Sprintf("%s%s@%d", helmrelease.Prefix, name, rel.Revision)
		l.addError(e)
	}
}

// sourceLine is a "# Source: chart/templates/x.yaml" comment of a release
// manifest and its line.
type sourceLine struct {
	line     int
	template string
}

// sourceComments finds the "# Source:" comments Helm writes before each
// template's output in a release manifest.
func sourceComments(manifest string) []sourceLine {
	var out []sourceLine
	for i, line := range strings.Split(manifest, "\n") {
		if t, ok := strings.CutPrefix(line, "# Source: "); ok {
			out = append(out, sourceLine{line: i + 1, template: strings.TrimSpace(t)})
		}
	}
	return out
}

// templateAt returns the template whose output holds line.
func templateAt(sources []sourceLine, line int) string {
	t := ""
	for _, s := range sources {
		if s.line > line {
			break
		}
		t = s.template
	}
	return t
}
