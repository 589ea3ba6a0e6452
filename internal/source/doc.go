// Package source loads the desired Kubernetes objects from disk: plain
// manifest files, directories of them, kustomize roots and Helm charts. It
// reads the same objects that kubectl apply -f, kubectl apply -k and
// helm template would send to the cluster, and remembers where each one
// came from.
//
//	set := source.Load(ctx, []string{"deploy/", "charts/web"}, source.Options{
//		Values: []string{"values-prod.yaml"},
//	})
//	for _, o := range set.Objects {
//		fmt.Println(o.Origin, o.Object.GetKind(), o.Object.GetName())
//	}
//	for _, e := range set.Errors {
//		fmt.Println(e) // path:line: Kind namespace/name: message
//	}
//
// # What a path can be
//
//   - A .yaml, .yml or .json file. YAML files are split into documents on
//     `---` lines as k8s.io/apimachinery's YAML reader (and so kubectl)
//     splits them, and each document is converted with sigs.k8s.io/yaml: YAML
//     1.1, as kubectl reads it (yes and on are true, 010 is 8), then JSON, so
//     numbers are int64 or float64. JSON files are a JSON value or a stream
//     of them. Documents holding only blanks and comments are skipped. A List
//     (kind List, or any kind ending in List with items) stands for its
//     items.
//   - A directory, walked recursively in lexical order for .yaml, .yml and
//     .json files. Names starting with "." are skipped; links to files are
//     followed, links to directories are not.
//   - A kustomize root: a directory, given or met while walking, with a
//     kustomization.yaml, kustomization.yml or Kustomization file. It is
//     built with the kustomize API (krusty) and its default options, as
//     `kustomize build` and `kubectl apply -k` build it, and not walked.
//   - A Helm chart: a directory, given or met while walking, with a
//     Chart.yaml. It is rendered with the Helm SDK (no helm binary) as
//     `helm template` renders it, and not walked. A kustomize root that also
//     has a Chart.yaml is built with kustomize.
//
// # Charts
//
// Values are merged like helm template's: the chart's values.yaml, then
// Options.Values files in order, then Options.Set expressions. The release
// is an install (.Release.IsInstall) named Options.ReleaseName (default: the
// chart's name) in Options.Namespace (default: "default"). Capabilities are
// Helm's defaults with the Kubernetes version that matches the client-go
// plumb is built with, which is what helm template does without a cluster;
// lookup finds nothing. Dependencies must already be in charts/ (run helm
// dependency build); disabled ones are left out by their conditions and
// tags.
//
// Left out of the result, because Helm does not track them as part of the
// release: hooks and tests (objects annotated helm.sh/hook), NOTES.txt,
// partials (_*.tpl) and templates that render empty, and the chart's crds/
// directory (like helm template without --include-crds; Helm creates those
// CRDs once and never updates them).
//
// The Helm SDK used is helm.sh/helm/v4 (chart API v2, chart/v2/loader,
// chart/v2/util, chart/common/util.ToRenderValues and engine.Engine).
//
// # Origins
//
// Every Object carries its Origin. For a file, Path is the file and Line
// the first line of the document that is neither blank nor a comment. For
// a chart, Path is the chart directory joined with the template's path in
// the chart (charts/web/templates/deployment.yaml, or
// charts/web/charts/redis/templates/service.yaml for a subchart), Line the
// line in that template's rendered output, and Chart "name-version". For
// kustomize output, Path is the kustomization file, Kustomization the root,
// and Line 0: kustomize does not say where an object came from.
//
// # Errors
//
// Bad input never stops a load. Each problem becomes an Error in
// Set.Errors and everything else still loads: a YAML syntax error (at its
// line in the file, not in the document), a document without apiVersion,
// kind or metadata.name (an object with only generateName cannot be matched
// to a live object), a path that does not exist or is not a manifest, a
// kustomize build that fails, a chart that does not render (at the
// template and template source line Helm names, when it names one), bad
// Helm values (reported once; no chart renders with them), and a file or
// an object over its limit.
//
// # Limits
//
// Options.Limits bound what a load reads, so that a source too large to
// apply cannot take plumb's memory and is never mistaken for drift (an
// object the API server refuses would otherwise show as missing):
//
//   - A file over Limits.File (default 32 MiB) is refused by its size
//     before it is read; one that grows while it is read, or has no size
//     (a pipe), is read no further than the limit. This holds for
//     manifest files, Helm values files and every file a kustomization
//     reads (kustomize reads through a file system that applies it, so the
//     build fails naming the file). A chart's own files are read by the
//     Helm SDK, which refuses a chart over 100 MiB in all.
//   - An object over Limits.Object (default 3 MiB) encoded as JSON is
//     refused at its file and line: the API server refuses a request body
//     over 3 MiB (and etcd an object over 1.5 MiB), so it could never be
//     applied. This holds for objects read from files, made by kustomize,
//     rendered from a chart and read from a live release. The other
//     objects of the same file still load.
//
// Each refusal names the flag that raises the limit
// (--max-source-file-size, --max-source-object-size).
//
// # What Load does not do
//
// Load does not default namespaces and does not look for duplicates: the
// drift engine does both, after defaulting. It stops when ctx is done and
// returns what it loaded so far.
//
// It must not contact a cluster: rendering is offline, as helm template's
// is, and an object's origin is recorded as it is read.
package source
