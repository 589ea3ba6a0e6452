package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"helm.sh/helm/v4/pkg/chart/common"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"plumb.dev/plumb/internal/realworld"
)

// applyMode is how a set is deployed: the kubectl apply used, and for a
// chart what kubectl is given.
type applyMode string

const (
	clientSide applyMode = "client-side"
	serverSide applyMode = "server-side"
	// helmTemplate is `helm template | kubectl apply`: a chart's rendering
	// as it is, without the release metadata helm install writes, applied
	// client-side. Only chart sets have it; plumb is still given the chart.
	helmTemplate applyMode = "rendered"
)

// modes are the deploy modes set s is measured in.
func (s manifestSet) modes() []applyMode {
	if s.form == formChart {
		return []applyMode{clientSide, serverSide, helmTemplate}
	}
	return []applyMode{clientSide, serverSide}
}

// apply is kubectl's apply command in this mode.
func (m applyMode) apply() []string {
	if m == serverSide {
		return []string{"apply", "--server-side"}
	}
	return []string{"apply"}
}

// other is the apply mode the reapply-other-mode change uses.
func (m applyMode) other() applyMode {
	if m == serverSide {
		return clientSide
	}
	return serverSide
}

// chart is how a chart set is given to kubectl in this mode.
func (m applyMode) chart() chartOutput {
	if m == helmTemplate {
		return chartTemplated
	}
	return chartInstalled
}

func (m applyMode) short() string {
	switch m {
	case serverSide:
		return "ssa"
	case helmTemplate:
		return "tpl"
	}
	return "csa"
}

// commandTimeout bounds every command the harness runs.
const commandTimeout = 3 * time.Minute

// accuracyOptions shape an -accuracy run.
type accuracyOptions struct {
	// sets and changes are the comma-separated names to measure; all when
	// empty.
	sets, changes string
	// parallel is how many sets are measured at once (at least 1).
	parallel int
	// reports, when set, is a folder that receives every scenario's plumb
	// report and kubectl diff output.
	reports string
}

// accuracy measures which changes plumb scan and kubectl diff
// --server-side report on real-world manifest sets.
type accuracy struct {
	b           *bench
	dir         string
	kubeVersion *common.KubeVersion
	changes     []change
	opts        accuracyOptions
	// logMu guards stderr, which parallel sets share.
	logMu sync.Mutex
}

// runAccuracy deploys each set on one API server, client-side and
// server-side (a chart also as `helm template | kubectl apply`), makes each change to a fresh deployment, asks both tools,
// and prints what each found as Markdown tables.
func runAccuracy(ctx context.Context, plumb string, opts accuracyOptions) error {
	sets, err := selectSets(opts.sets)
	if err != nil {
		return err
	}
	chosen, err := selectChanges(opts.changes)
	if err != nil {
		return err
	}
	if opts.parallel < 1 {
		opts.parallel = 1
	}
	dir, err := realworld.Dir()
	if err != nil {
		return err
	}
	if opts.reports != "" {
		if err := os.MkdirAll(opts.reports, 0o755); err != nil {
			return err
		}
	}
	b, err := start(plumb, "accuracy", "0")
	if err != nil {
		return err
	}
	defer b.stop()
	sv, err := b.env.Clientset.Discovery().ServerVersion()
	if err != nil {
		return err
	}
	kv, err := common.ParseKubeVersion(sv.GitVersion)
	if err != nil {
		return err
	}
	a := &accuracy{b: b, dir: dir, kubeVersion: kv, changes: chosen, opts: opts}

	// A set that registers an APIService makes discovery fail for every
	// client while its (never running) backend is missing; it is measured
	// alone, after the others, so it does not disturb them.
	var shared, alone []int
	for i, s := range sets {
		if a.registersAPIService(ctx, s) {
			alone = append(alone, i)
		} else {
			shared = append(shared, i)
		}
	}
	started := time.Now()
	results := make([]setResult, len(sets))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.parallel)
	for _, i := range shared {
		g.Go(func() error { results[i] = a.measureSet(gctx, sets[i]); return gctx.Err() })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, i := range alone {
		results[i] = a.measureSet(ctx, sets[i])
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	printAccuracy(os.Stdout, results, time.Since(started))
	return nil
}

func (a *accuracy) logf(format string, args ...any) {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// registersAPIService reports whether set s declares an APIService.
func (a *accuracy) registersAPIService(ctx context.Context, s manifestSet) bool {
	r, err := s.render(ctx, a.dir, a.b.kubectl, a.b.work, "default", a.kubeVersion, chartInstalled)
	if err != nil {
		return false // measureSet reports the error
	}
	for _, u := range r.objects {
		if u.GetKind() == "APIService" && strings.HasPrefix(u.GetAPIVersion(), "apiregistration.k8s.io/") {
			return true
		}
	}
	return false
}

// setResult is one set's scenarios, per deploy mode.
type setResult struct {
	set     manifestSet
	objects int
	modes   []modeResult
}

// modeResult is a set's scenarios on one deploy mode.
type modeResult struct {
	mode applyMode
	// err stopped the mode (its deploy, a reset, its teardown).
	err       string
	scenarios []scenarioResult
}

// scenarioResult is one change made to a fresh deployment, and what each
// tool said.
type scenarioResult struct {
	change change
	// skipped says why the set has no object for the change.
	skipped bool
	// changeErr: the change itself failed, so neither tool was asked.
	changeErr string
	target    string
	plumb     verdict
	kubectl   verdict
	// plumbWall and kubectlWall are the tools' wall times.
	plumbWall, kubectlWall time.Duration
}

func (a *accuracy) measureSet(ctx context.Context, s manifestSet) setResult {
	res := setResult{set: s}
	for _, mode := range s.modes() {
		if ctx.Err() != nil {
			break
		}
		mr, objects := a.measureMode(ctx, s, mode)
		res.modes = append(res.modes, mr)
		if objects > res.objects {
			res.objects = objects
		}
	}
	return res
}

// setRun is one set deployed in one mode.
type setRun struct {
	a    *accuracy
	set  manifestSet
	mode applyMode
	// ns is where the set's namespaced objects without a namespace go:
	// the namespace of kubeconfig's context, which both tools use.
	ns         string
	kubeconfig string
	rendered   *rendered
	objects    []*object
	// names maps kubectl diff's file names to objects.
	names map[string]objectKey
	// files are single-object manifests, for re-creating one object.
	files map[*object]string
}

func (a *accuracy) measureMode(ctx context.Context, s manifestSet, mode applyMode) (modeResult, int) {
	mr := modeResult{mode: mode}
	r := &setRun{a: a, set: s, mode: mode, ns: "rw-" + s.name + "-" + mode.short(), files: map[*object]string{}}
	fail := func(format string, args ...any) (modeResult, int) {
		mr.err = fmt.Sprintf(format, args...)
		a.logf("[%s %s] %s", s.name, mode, mr.err)
		return mr, len(r.objects)
	}
	if err := r.prepare(ctx); err != nil {
		return fail("prepare: %v", err)
	}
	defer func() {
		if err := r.teardown(ctx, true); err != nil {
			a.logf("[%s %s] teardown: %v", s.name, mode, err)
		}
	}()
	if err := r.deploy(ctx); err != nil {
		return fail("deploy: %v", err)
	}
	if err := r.resolve(); err != nil {
		return fail("resolve: %v", err)
	}
	// Taking client-side applied objects over with a server-side apply of
	// the same manifests needs --force-conflicts when a quantity is spelt
	// otherwise than the API server stores it: 2000m against the 2 that
	// kubectl-client-side-apply owns conflicts (server-side apply compares
	// the strings).
	other := mode.other().apply()
	if mode.other() == serverSide {
		other = append(other, "--force-conflicts")
	}
	in := planInput{objects: r.objects, otherApply: append(other, r.rendered.kubectlArgs...)}
	for i, c := range a.changes {
		p, ok := c.plan(in)
		if !ok {
			mr.scenarios = append(mr.scenarios, scenarioResult{change: c, skipped: true})
			continue
		}
		sr := r.scenario(ctx, i, c, p)
		mr.scenarios = append(mr.scenarios, sr)
		if sr.changeErr != "" {
			a.logf("[%s %s] %s: change failed: %s", s.name, mode, c.name, oneLine(sr.changeErr))
		} else {
			a.logf("[%s %s] %s: plumb %s, kubectl diff %s", s.name, mode, c.name, cell(c.kind, sr.plumb), cell(c.kind, sr.kubectl))
		}
		if i == len(a.changes)-1 {
			break
		}
		if err := r.reset(ctx, p); err != nil {
			return fail("reset after %s: %v", c.name, err)
		}
	}
	return mr, len(r.objects)
}

// prepare creates the run's namespace and kubeconfig and renders the set.
func (r *setRun) prepare(ctx context.Context) error {
	env := r.a.b.env
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns}}
	if _, err := env.Clientset.CoreV1().Namespaces().Create(ctx, nsObj, metav1.CreateOptions{}); err != nil {
		return err
	}
	cfg, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		return err
	}
	kctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return fmt.Errorf("kubeconfig %s: no current context", env.Kubeconfig)
	}
	kctx.Namespace = r.ns
	r.kubeconfig = filepath.Join(r.a.b.work, r.ns+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, r.kubeconfig); err != nil {
		return err
	}
	r.rendered, err = r.set.render(ctx, r.a.dir, r.a.b.kubectl, r.a.b.work, r.ns, r.a.kubeVersion, r.mode.chart())
	return err
}

// kubectl runs the pinned kubectl with the run's kubeconfig; the error
// carries the end of its output.
func (r *setRun) kubectl(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.a.b.kubectl, append([]string{"--kubeconfig", r.kubeconfig}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, errorLines(out))
	}
	return out, nil
}

// errorLines are the lines of kubectl's output that say what failed, or
// else its end.
func errorLines(out []byte) string {
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "error:") || strings.HasPrefix(l, "Error from server") || strings.HasPrefix(l, "The ") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) == 0 {
		return tail(out)
	}
	return strings.Join(lines, "; ")
}

// deploy applies the whole set in the run's mode. When custom resources
// come with their definitions, the first apply cannot map them yet; it
// waits for the definitions and applies again, as engineers do.
func (r *setRun) deploy(ctx context.Context) error {
	args := append(r.mode.apply(), r.rendered.kubectlArgs...)
	out, err := r.kubectl(ctx, nil, args...)
	if err != nil && crdsPending(out) {
		var crds []string
		for _, u := range r.rendered.objects {
			if u.GetKind() == "CustomResourceDefinition" {
				crds = append(crds, "crd/"+u.GetName())
			}
		}
		if len(crds) > 0 {
			if _, werr := r.kubectl(ctx, nil, append([]string{"wait", "--for=condition=Established", "--timeout=60s"}, crds...)...); werr != nil {
				return werr
			}
			_, err = r.kubectl(ctx, nil, args...)
		}
	}
	return err
}

func crdsPending(out []byte) bool {
	return bytes.Contains(out, []byte("ensure CRDs are installed first")) || bytes.Contains(out, []byte("no matches for kind"))
}

// resolve names every declared object as the API server does: cluster-
// scoped objects without a namespace, namespaced ones in theirs or in the
// run's.
func (r *setRun) resolve() error {
	scopes, err := r.a.scopes()
	if err != nil {
		return err
	}
	// A custom kind discovery does not list yet has its definition's scope.
	for _, u := range r.rendered.objects {
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
		gk := schema.GroupKind{Group: group, Kind: kind}
		if _, known := scopes[gk]; !known {
			scopes[gk] = scope == "Namespaced"
		}
	}
	r.objects, r.names = nil, map[string]objectKey{}
	for _, u := range r.rendered.objects {
		gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
		if err != nil {
			return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		namespaced, known := scopes[schema.GroupKind{Group: gv.Group, Kind: u.GetKind()}]
		if !known {
			namespaced = true
		}
		ns := ""
		if namespaced {
			ns = u.GetNamespace()
			if ns == "" {
				ns = r.ns
			}
		}
		o := &object{u: u, key: objectKey{Group: gv.Group, Kind: u.GetKind(), Namespace: ns, Name: u.GetName()}, apiVersion: u.GetAPIVersion()}
		r.objects = append(r.objects, o)
		r.names[o.kubectlDiffName()] = o.key
	}
	return nil
}

// scopes maps every kind the API server serves to whether it is
// namespaced. Groups whose discovery fails are left out.
func (a *accuracy) scopes() (map[schema.GroupKind]bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(a.b.env.Config)
	if err != nil {
		return nil, err
	}
	_, lists, err := dc.ServerGroupsAndResources()
	if lists == nil {
		return nil, err
	}
	out := map[schema.GroupKind]bool{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, res := range l.APIResources {
			if !strings.Contains(res.Name, "/") {
				out[schema.GroupKind{Group: gv.Group, Kind: res.Kind}] = res.Namespaced
			}
		}
	}
	return out, nil
}

// scenario makes change c as planned in p and asks both tools, in turn
// (which goes first alternates with i).
func (r *setRun) scenario(ctx context.Context, i int, c change, p plan) scenarioResult {
	sr := scenarioResult{change: c}
	if p.target != nil {
		sr.target = p.target.key.String()
	}
	for _, cmd := range p.commands {
		if _, err := r.kubectl(ctx, cmd.stdin, cmd.args...); err != nil {
			sr.changeErr = err.Error()
			return sr
		}
	}
	plumbArgv := append([]string{r.a.b.plumb, "scan", "--kubeconfig", r.kubeconfig, "-o", "json"}, r.rendered.plumbArgs...)
	kubectlArgv := append([]string{r.a.b.kubectl, "--kubeconfig", r.kubeconfig, "diff", "--server-side", "--force-conflicts"}, r.rendered.kubectlArgs...)
	var pOut, kOut toolRun
	if i%2 == 0 {
		pOut, kOut = runTool(ctx, plumbArgv), runTool(ctx, kubectlArgv)
	} else {
		kOut, pOut = runTool(ctx, kubectlArgv), runTool(ctx, plumbArgv)
	}
	sr.plumb = classifyPlumb(pOut.code, pOut.stdout, p)
	sr.kubectl = classifyKubectl(kOut.code, kOut.stdout, p, r.names)
	sr.plumbWall, sr.kubectlWall = pOut.wall, kOut.wall
	if sr.plumb.failed && len(bytes.TrimSpace(pOut.stderr)) > 0 {
		sr.plumb.detail += ": " + tail(pOut.stderr)
	}
	if sr.kubectl.failed && len(bytes.TrimSpace(kOut.stderr)) > 0 {
		sr.kubectl.detail += ": " + tail(kOut.stderr)
	}
	if dir := r.a.opts.reports; dir != "" {
		base := filepath.Join(dir, fmt.Sprintf("%s-%s-%s", r.set.name, r.mode.short(), c.name))
		_ = os.WriteFile(base+".plumb.json", pOut.stdout, 0o644)
		_ = os.WriteFile(base+".kubectl.diff", append(kOut.stdout, kOut.stderr...), 0o644)
	}
	return sr
}

// toolRun is one finished run of a tool.
type toolRun struct {
	code           int
	stdout, stderr []byte
	wall           time.Duration
}

// runTool runs argv and times it; a tool that cannot start or is killed
// by the timeout exits -1.
func runTool(ctx context.Context, argv []string) toolRun {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t := toolRun{stdout: stdout.Bytes(), stderr: stderr.Bytes(), wall: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		t.code = ee.ExitCode()
	case err != nil:
		t.code, t.stderr = -1, append(t.stderr, []byte(err.Error())...)
	}
	return t
}

// reset puts back what scenario p touched: the set deployed afresh when
// it touched every object, else its object deleted and applied again
// alone, in the run's mode (the others are as deployed).
func (r *setRun) reset(ctx context.Context, p plan) error {
	switch {
	case p.all:
		if err := r.teardown(ctx, false); err != nil {
			return err
		}
		return r.deploy(ctx)
	case p.target != nil:
		if _, err := r.kubectl(ctx, nil, append(append([]string{"delete"}, p.target.ref()...), "--ignore-not-found", "--wait=true")...); err != nil {
			return err
		}
		file, err := r.objectFile(p.target)
		if err != nil {
			return err
		}
		_, err = r.kubectl(ctx, nil, append(r.mode.apply(), "-f", file)...)
		return err
	}
	return nil
}

// objectFile is a manifest of o alone, as the set declares it.
func (r *setRun) objectFile(o *object) (string, error) {
	if f, ok := r.files[o]; ok {
		return f, nil
	}
	body, err := yaml.Marshal(o.u.Object)
	if err != nil {
		return "", err
	}
	f := filepath.Join(r.a.b.work, fmt.Sprintf("%s-%d.yaml", r.ns, len(r.files)))
	if err := os.WriteFile(f, body, 0o644); err != nil {
		return "", err
	}
	r.files[o] = f
	return f, nil
}

// teardown deletes the set's objects, custom resources before their
// definitions (reverse order), then the Namespaces it declares; with
// ownNamespace also the run's namespace.
func (r *setRun) teardown(ctx context.Context, ownNamespace bool) error {
	var buf bytes.Buffer
	var namespaces []string
	for i := len(r.rendered.objects) - 1; i >= 0; i-- {
		u := r.rendered.objects[i]
		if u.GetKind() == "Namespace" && u.GetAPIVersion() == "v1" {
			namespaces = append(namespaces, u.GetName())
			continue
		}
		body, err := yaml.Marshal(u.Object)
		if err != nil {
			return err
		}
		buf.WriteString("---\n")
		buf.Write(body)
	}
	file := filepath.Join(r.a.b.work, r.ns+"-teardown.yaml")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		return err
	}
	if out, err := r.kubectl(ctx, nil, "delete", "-f", file, "--ignore-not-found", "--wait=true", "--timeout=2m"); err != nil && !crdsPending(out) {
		return err
	}
	if ownNamespace {
		namespaces = append(namespaces, r.ns)
	}
	for _, ns := range namespaces {
		if err := r.a.deleteNamespace(ctx, ns); err != nil {
			return err
		}
	}
	return nil
}

// deleteNamespace deletes namespace name and waits until it is gone. The
// test control plane runs no namespace controller, so the harness does
// its last step itself: it empties the namespace's finalizers (the
// namespace holds nothing by then).
func (a *accuracy) deleteNamespace(ctx context.Context, name string) error {
	nss := a.b.env.Clientset.CoreV1().Namespaces()
	if err := nss.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ns, err := nss.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		if len(ns.Spec.Finalizers) > 0 {
			ns.Spec.Finalizers = nil
			if _, err := nss.Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return fmt.Errorf("namespace %s: finalize: %w", name, err)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s: still there after a minute", name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
