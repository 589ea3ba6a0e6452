package remediate

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPlanLeavesAddedFields: a field another manager added is left in
// place and listed, unless RemoveAdded; a field the deployer itself
// applied that the source no longer declares is put back (removed) either
// way, since that is what re-applying the source does.
func TestPlanLeavesAddedFields(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) { env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	env.Kubectl(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  labels: {app.kubernetes.io/part-of: shop, old: \"yes\"}\ndata: {mode: fast, currency: EUR}\n",
		"-n", ns, "apply", "--server-side", "-f", "-")
	k("set", "env", "deployment/web", "DEBUG=1")
	k("set", "image", "deployment/web", "web=nginx:1.28-hotfix")

	type planned struct{ Object, Path, Type string }
	summarise := func(p Plan) (steps, left []planned) {
		for _, s := range p.Steps {
			for _, c := range s.Changes {
				steps = append(steps, planned{s.Object(), c.Path, string(c.Type)})
			}
		}
		for _, l := range p.LeftInPlace {
			if l.Cluster != "envtest" || l.Manager != "kubectl-set" {
				t.Errorf("left in place %+v: want cluster envtest, manager kubectl-set", l)
			}
			left = append(left, planned{l.Object, l.Path, string(l.Type)})
		}
		return steps, left
	}
	web, settings := "Deployment "+ns+"/web", "ConfigMap "+ns+"/settings"
	debug := planned{web, `.spec.template.spec.containers[name="web"].env[name="DEBUG"]`, "added"}
	image := planned{web, `.spec.template.spec.containers[name="web"].image`, "modified"}
	old := planned{settings, ".metadata.labels.old", "added"}

	p, objs := planner(t, ns)
	plan, err := p.Plan(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	steps, left := summarise(plan)
	if diff := cmp.Diff([]planned{old, image}, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]planned{debug}, left); diff != "" {
		t.Errorf("left in place (-want +got):\n%s", diff)
	}

	remove := NewPlanner(p.engine, DefaultGuardrails(), Options{RemoveAdded: true})
	if plan, err = remove.Plan(context.Background(), objs); err != nil {
		t.Fatal(err)
	}
	steps, left = summarise(plan)
	if diff := cmp.Diff([]planned{old, debug, image}, steps); diff != "" || len(left) != 0 {
		t.Errorf("RemoveAdded: steps (-want +got):\n%s\nleft in place: %+v", diff, left)
	}
}
