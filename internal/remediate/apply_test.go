package remediate

import (
	"context"
	"fmt"
	"testing"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testcluster"
)

var env *testcluster.Env

func TestMain(m *testing.M) { testcluster.Main(m, &env) }

const shop = "../../examples/shop"

func planner(t *testing.T, ns string) (*Planner, []source.Object) {
	t.Helper()
	c, err := cluster.NewForConfig("envtest", ns, env.Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	e, err := drift.New(c, drift.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	set := source.Load(context.Background(), []string{shop}, source.Options{Namespace: ns})
	return NewPlanner(e, DefaultGuardrails(), Options{}), set.Objects
}

// TestConcurrentChangeIsNotClobbered plans putting web's replicas back,
// then someone changes web's image before the plan is applied: the object
// is compared again, the plan no longer holds, and web is left alone.
func TestConcurrentChangeIsNotClobbered(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	p, objs := planner(t, ns)
	ctx := context.Background()
	plan, err := p.Plan(ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Steps) != 1 || plan.Steps[0].Name != "web" {
		t.Fatalf("plan = %+v", plan.Steps)
	}

	env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/web", "web=nginx:1.28-hotfix")
	results, err := p.Apply(ctx, plan, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Outcome != store.StepChanged {
		t.Fatalf("results = %+v, want web left alone as changed since planned", results)
	}
	got := env.Kubectl(t, "", "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}")
	if got != "5 nginx:1.28-hotfix" {
		t.Errorf("web = %q, want it untouched (5 nginx:1.28-hotfix)", got)
	}
}

// TestSameDriftAgainIsApplied: the object changed since planned, but only
// in a way that leaves the planned change exactly as it was (a label
// added by someone else); the plan still holds and is applied.
func TestSameDriftAgainIsApplied(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	p, objs := planner(t, ns)
	ctx := context.Background()
	plan, err := p.Plan(ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	env.Kubectl(t, "", "-n", ns, "annotate", "configmap/settings", "touched=yes")
	results, err := p.Apply(ctx, plan, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Outcome != store.StepApplied {
		t.Fatalf("results = %+v, want applied", results)
	}
	if got := env.Kubectl(t, "", "-n", ns, "get", "configmap/settings", "-o", "jsonpath={.data.mode} {.metadata.annotations.touched}"); got != "fast yes" {
		t.Errorf("settings = %q, want mode back to fast and the other manager's annotation kept", got)
	}
}

// TestPlanShownIsNeverAppliedOverANewerValue: a plan shown as replicas
// 7 → 2; someone scales to 9 before it is applied. The object is compared
// again: the same field drifts, but from another value than the plan
// showed, so web is left at 9 for a plan of its own.
func TestPlanShownIsNeverAppliedOverANewerValue(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=7")
	p, objs := planner(t, ns)
	ctx := context.Background()
	plan, err := p.Plan(ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Steps) != 1 || len(plan.Steps[0].Changes) != 1 || fmt.Sprint(plan.Steps[0].Changes[0].Live) != "7" {
		t.Fatalf("plan = %+v, want web's replicas from 7", plan.Steps)
	}
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=9")
	results, err := p.Apply(ctx, plan, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Outcome != store.StepChanged {
		t.Fatalf("results = %+v, want web left alone as changed since planned", results)
	}
	if got := env.Kubectl(t, "", "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "9" {
		t.Errorf("replicas %s, want the newer 9", got)
	}
}
