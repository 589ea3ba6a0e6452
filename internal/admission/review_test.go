package admission

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/testcluster"
)

var env *testcluster.Env

func TestMain(m *testing.M) { testcluster.Main(m, &env) }

const shop = "../../examples/shop"

// fixture is the shop deployed in a namespace of the test cluster, its
// declarations resolved, and the live web Deployment.
type fixture struct {
	cluster *Cluster
	web     *unstructured.Unstructured
	breaks  []BreakGlass
}

func newFixture(t testing.TB) *fixture {
	ns := env.Namespace(t)
	ctx := context.Background()
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "--field-manager=gitops", "-f", shop)
	c, err := cluster.NewForConfig("envtest", ns, env.Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	e, err := drift.New(c, drift.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	set := source.Load(ctx, []string{shop}, source.Options{Namespace: ns})
	targets, _, err := e.Resolve(set.Objects)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[drift.ObjectKey]drift.Target{}
	for _, tg := range targets {
		byKey[tg.Key()] = tg
	}
	f := &fixture{}
	f.cluster = &Cluster{Name: "envtest", Engine: e, Mapper: c.Mapper, Self: "plumb",
		Declared:   func(k drift.ObjectKey) (drift.Target, bool) { t, ok := byKey[k]; return t, ok },
		Scaled:     func(drift.ObjectKey) bool { return false },
		BreakGlass: func(b BreakGlass) { f.breaks = append(f.breaks, b) },
		Deployers:  func(drift.Target) []string { return []string{"system:serviceaccount:flux-system:*", "ci-deployers"} },
	}
	for _, tg := range targets {
		if tg.Key().Kind == "Deployment" && tg.Name() == "web" {
			if f.web, err = e.Get(ctx, tg); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

// request is an UPDATE of the web Deployment from f.web to what change
// makes of it, by user (in groups, besides system:authenticated) naming
// manager.
func (f *fixture) request(t testing.TB, user, manager string, change func(*unstructured.Unstructured), groups ...string) *admissionv1.AdmissionRequest {
	next := f.web.DeepCopy()
	change(next)
	oldRaw, err := json.Marshal(f.web.Object)
	if err != nil {
		t.Fatal(err)
	}
	newRaw, err := json.Marshal(next.Object)
	if err != nil {
		t.Fatal(err)
	}
	req := &admissionv1.AdmissionRequest{UID: "1", Operation: admissionv1.Update, Namespace: f.web.GetNamespace(), Name: "web",
		UserInfo:  authenticationv1.UserInfo{Username: user, Groups: append([]string{"system:authenticated"}, groups...)},
		OldObject: runtime.RawExtension{Raw: oldRaw}, Object: runtime.RawExtension{Raw: newRaw},
		Options: runtime.RawExtension{Raw: []byte(`{"kind":"UpdateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"` + manager + `"}`)}}
	req.Kind.Group, req.Kind.Version, req.Kind.Kind = "apps", "v1", "Deployment"
	req.Resource.Group, req.Resource.Version, req.Resource.Resource = "apps", "v1", "deployments"
	return req
}

func addLabel(u *unstructured.Unstructured) {
	_ = unstructured.SetNestedField(u.Object, "payments", "metadata", "labels", "team")
}

func scale(n int64) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) { _ = unstructured.SetNestedField(u.Object, n, "spec", "replicas") }
}

// TestReview decides the writes people, tools and controllers make to a
// declared Deployment, by the identity the API server authenticated: a
// field manager name is the caller's to choose, so naming plumb's, the
// deployer's or any other manager lets nothing through.
func TestReview(t *testing.T) {
	f := newFixture(t)
	enforce, warn := Options{Mode: ModeEnforce}, Options{Mode: ModeWarn}
	sre := Options{Mode: ModeEnforce, BreakGlass: []string{"sre"}}
	breakGlass := func(u *unstructured.Unstructured) {
		u.SetAnnotations(map[string]string{BreakGlassAnnotation: "incident 42"})
		_ = unstructured.SetNestedField(u.Object, int64(9), "spec", "replicas")
	}
	for _, tc := range []struct {
		name string
		req  *admissionv1.AdmissionRequest
		opts Options
		want Decision
	}{
		{"a person scales", f.request(t, "jane", "kubectl-edit", scale(5)), enforce, Denied},
		{"warn mode", f.request(t, "jane", "kubectl-edit", scale(5)), warn, Warned},
		{"an undeclared label", f.request(t, "jane", "kubectl-label", addLabel), enforce, Allowed},
		{"declared labels replaced", f.request(t, "jane", "kubectl-edit", func(u *unstructured.Unstructured) { u.SetLabels(map[string]string{"team": "x"}) }), enforce, Denied},
		{"the deployer's manager, named by someone else", f.request(t, "jane", "gitops", scale(5)), enforce, Denied},
		{"plumb's manager, named by someone else", f.request(t, "jane", "plumb", scale(5)), enforce, Denied},
		{"plumb's undo manager, named by someone else", f.request(t, "jane", "plumb-undo", scale(5)), enforce, Denied},
		{"the deployer's service account", f.request(t, "system:serviceaccount:flux-system:kustomize-controller", "gitops", scale(5)), enforce, Allowed},
		{"the deployer's group, any manager", f.request(t, "ci-bot", "kubectl", scale(5), "ci-deployers"), enforce, Allowed},
		{"a service account like the deployer's, elsewhere", f.request(t, "system:serviceaccount:shop:kustomize-controller", "gitops", scale(5)), enforce, Denied},
		{"plumb's identity", f.request(t, "plumb", "kubectl-edit", scale(5)), enforce, Allowed},
		{"a kube-system controller", f.request(t, "system:serviceaccount:kube-system:deployment-controller", "kube-controller-manager", scale(5)), enforce, Allowed},
		{"an exempt group", f.request(t, "jane", "kubectl-edit", scale(5)), Options{Mode: ModeEnforce, Exempt: []string{"system:authenticated"}}, Allowed},
		{"break glass, closed", f.request(t, "jane", "kubectl-edit", breakGlass), enforce, Denied},
		{"break glass by someone not allowed", f.request(t, "jane", "kubectl-edit", breakGlass), sre, Denied},
		{"break glass by the group allowed", f.request(t, "jane", "kubectl-edit", breakGlass, "sre"), sre, BrokeGlass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, got := Review(f.cluster, tc.req, tc.opts)
			if got != tc.want || resp.Allowed != (got != Denied) {
				t.Fatalf("decision %s (allowed %v), want %s: %+v", got, resp.Allowed, tc.want, resp.Result)
			}
			if got == Denied && !strings.Contains(resp.Result.Message, "web.yaml:1 declares .") {
				t.Errorf("message %q names no field", resp.Result.Message)
			}
			if got == Denied && strings.Contains(resp.Result.Message, BreakGlassAnnotation) != (len(tc.opts.BreakGlass) > 0) {
				t.Errorf("message %q: the annotation is named only when someone may break glass", resp.Result.Message)
			}
			if got == Warned && (len(resp.Warnings) != 1 || !strings.HasPrefix(resp.Warnings[0], "plumb: ")) {
				t.Errorf("warnings %q", resp.Warnings)
			}
		})
	}
	if len(f.breaks) != 1 || f.breaks[0].User != "jane" || !slices.Contains(f.breaks[0].Groups, "sre") || f.breaks[0].Reason != "incident 42" || strings.Join(f.breaks[0].Paths, ",") != ".spec.replicas" {
		t.Errorf("break-glass records %+v", f.breaks)
	}
}

// BenchmarkReview decides a review that changes a declared field (denied)
// and one that adds a label (allowed), as the webhook's handler does once
// the review is decoded.
func BenchmarkReview(b *testing.B) {
	f := newFixture(b)
	for _, bc := range []struct {
		name string
		req  *admissionv1.AdmissionRequest
	}{
		{"denied", f.request(b, "jane", "kubectl-edit", scale(5))},
		{"allowed", f.request(b, "jane", "kubectl-label", addLabel)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				Review(f.cluster, bc.req, Options{Mode: ModeEnforce})
			}
		})
	}
}
