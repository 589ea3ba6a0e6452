package queue

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// planner plans one step per finding, of the risk the test sets, and
// applies every step; it counts what it applied. The scheduler decides
// when to apply, never how, so this is all of the planner it needs.
type planner struct {
	risk    remediate.Risk
	applied []string
}

func (p *planner) Cluster() string { return "prod" }

func (p *planner) Plan(context.Context, []source.Object) (remediate.Plan, error) {
	return remediate.Plan{}, nil
}

func (p *planner) PlanFinding(f drift.Finding, _ drift.Target) remediate.Plan {
	st := remediate.Step{Cluster: "prod", APIVersion: f.APIVersion, Kind: f.Kind, Namespace: f.Namespace, Name: f.Name,
		Action: store.ActionApply, Risk: p.risk}
	for _, c := range f.Changes {
		st.Changes = append(st.Changes, remediate.Change{Change: c, Risk: p.risk})
	}
	return remediate.Plan{Steps: []remediate.Step{st}}
}

func (p *planner) PlanUndo(context.Context, *store.Run) (remediate.Plan, error) {
	return remediate.Plan{}, nil
}

func (p *planner) Apply(_ context.Context, plan remediate.Plan, _ remediate.ApplyOptions) ([]remediate.Result, error) {
	var out []remediate.Result
	for _, st := range plan.Steps {
		p.applied = append(p.applied, st.Name)
		out = append(out, remediate.Result{Step: st, Outcome: store.StepApplied})
	}
	return out, nil
}

// clock is the scheduler's time, moved by the test.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// scheduler remediates cluster prod in mode, with a real store, the
// fake planner and the clock.
func scheduler(t *testing.T, mode remediate.Mode, opts Options) (*Queue, *planner, *clock, *store.DB) {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "plumb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := &planner{risk: remediate.RiskLow}
	clk := &clock{now: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	opts.Now = clk.Now
	c := &Cluster{Name: "prod", Planner: p, User: "system:serviceaccount:plumb:plumb",
		Target: func(drift.ObjectKey) (drift.Target, bool) { return drift.Target{}, true },
		Mode:   func(drift.Target) remediate.Mode { return mode }}
	return New([]*Cluster{c}, st, opts), p, clk, st
}

// drifted is the event of object name drifting on prod.
func drifted(name string) event.Event {
	f := &drift.Finding{Cluster: "prod", APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: name, State: drift.StateDrifted,
		Changes: []drift.Change{{Path: ".spec.replicas", Type: drift.ChangeModified, Desired: 2, Live: 5, Manager: "kubectl-scale"}}}
	return event.Event{Cluster: "prod", FindingID: store.FindingID("prod", f.Key()), Transition: store.Opened, Finding: f}
}

func resolved(name string) event.Event {
	e := drifted(name)
	e.Transition, e.Finding = store.Resolved, nil
	return e
}

// TestAutoModeStopsAFight: an object put back that drifts again
// FightRounds times within FightWindow is left alone, its remediation
// "fighting"; once it is back in sync and the window has passed, it is
// fixed again.
func TestAutoModeStopsAFight(t *testing.T) {
	ctx := context.Background()
	s, p, clk, st := scheduler(t, remediate.ModeAuto, DefaultOptions())
	for range 3 {
		s.handle(ctx, drifted("web"))
		clk.now = clk.now.Add(time.Minute)
	}
	if len(p.applied) != 3 {
		t.Fatalf("applied %v, want web fixed 3 times", p.applied)
	}
	s.handle(ctx, drifted("web"))
	if len(p.applied) != 3 {
		t.Errorf("applied %v after the 4th drift within the window, want no 4th fix", p.applied)
	}
	if l := s.List(); len(l) != 1 || l[0].State != StateFighting || !strings.Contains(l[0].Reason, "3 times") ||
		len(l[0].Managers) != 1 || l[0].Managers[0] != "kubectl-scale" {
		t.Fatalf("remediations %+v, want web fighting, with kubectl-scale named", l)
	}
	runs, err := st.Runs(ctx, store.RunFilter{})
	if err != nil || len(runs) != 3 || runs[0].Command != "serve" || runs[0].Outcome != store.RunApplied {
		t.Fatalf("runs %+v, %v: want the 3 fixes recorded as serve runs", runs, err)
	}

	s.handle(ctx, resolved("web"))
	clk.now = clk.now.Add(11 * time.Minute)
	s.handle(ctx, drifted("web"))
	if len(p.applied) != 4 || len(s.List()) != 0 {
		t.Errorf("after the fight ended: applied %v, remediations %+v; want web fixed again", p.applied, s.List())
	}
}

// TestAutoModeBudget: beyond Budget objects fixed on a cluster within a
// minute, plans wait for approval; a minute later they are applied again.
func TestAutoModeBudget(t *testing.T) {
	ctx := context.Background()
	opts := DefaultOptions()
	opts.Auto.Budget = 2
	s, p, clk, _ := scheduler(t, remediate.ModeAuto, opts)
	for _, name := range []string{"a", "b", "c"} {
		s.handle(ctx, drifted(name))
	}
	if strings.Join(p.applied, ",") != "a,b" {
		t.Fatalf("applied %v, want a and b only", p.applied)
	}
	if l := s.List(); len(l) != 1 || l[0].State != StatePending || !strings.Contains(l[0].Reason, "its limit") {
		t.Fatalf("remediations %+v, want c pending on the budget", l)
	}
	clk.now = clk.now.Add(2 * time.Minute)
	s.handle(ctx, drifted("c"))
	if strings.Join(p.applied, ",") != "a,b,c" || len(s.List()) != 0 {
		t.Errorf("a minute later: applied %v, remediations %+v; want c fixed", p.applied, s.List())
	}
}

// TestAutoModeHoldsRiskyPlans: a plan above the auto risk limit waits for
// approval, and approving it applies it and records a serve-approve run.
func TestAutoModeHoldsRiskyPlans(t *testing.T) {
	ctx := context.Background()
	s, p, _, st := scheduler(t, remediate.ModeAuto, DefaultOptions())
	p.risk = remediate.RiskHigh
	s.handle(ctx, drifted("web"))
	l := s.List()
	if len(p.applied) != 0 || len(l) != 1 || l[0].State != StatePending || !strings.Contains(l[0].Reason, "risk high") {
		t.Fatalf("applied %v, remediations %+v: want web pending on its risk", p.applied, l)
	}
	if _, err := s.Approve(ctx, l[0].ID, ""); !errors.Is(err, ErrNoHash) {
		t.Errorf("an approval without the plan's hash: %v, want ErrNoHash", err)
	}
	if _, err := s.Approve(ctx, l[0].ID, l[0].Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Approve(ctx, l[0].ID, l[0].Hash); err == nil {
		t.Error("approving the same remediation twice: want an error")
	}
	runs, err := st.Runs(ctx, store.RunFilter{})
	if len(p.applied) != 1 || err != nil || len(runs) != 1 || runs[0].Command != "serve-approve" {
		t.Errorf("after approval: applied %v, runs %+v (%v); want web applied once, recorded as serve-approve", p.applied, runs, err)
	}
}

// TestApprovalNamesThePlanShown: a waiting plan made again because its
// object changed is a new remediation; approving the old one, or the new
// one with the old plan's hash, applies nothing; the same plan seen again
// (a resync) keeps its remediation.
func TestApprovalNamesThePlanShown(t *testing.T) {
	ctx := context.Background()
	s, p, _, _ := scheduler(t, remediate.ModeApprove, DefaultOptions())
	s.handle(ctx, drifted("web"))
	first := s.List()
	s.handle(ctx, drifted("web")) // the same drift again
	if again := s.List(); len(first) != 1 || len(again) != 1 || again[0].ID != first[0].ID || again[0].Hash != first[0].Hash {
		t.Fatalf("the same plan seen twice: %+v then %+v, want one remediation kept", first, again)
	}
	scaled := drifted("web")
	scaled.Finding.Changes[0].Live = 9
	s.handle(ctx, scaled)
	second := s.List()
	if len(second) != 1 || second[0].ID == first[0].ID || second[0].Hash == first[0].Hash {
		t.Fatalf("after the object changed: %+v, want a new remediation with a new hash", second)
	}
	if _, err := s.Approve(ctx, first[0].ID, first[0].Hash); !errors.Is(err, ErrPlanChanged) {
		t.Errorf("approving the replaced remediation: %v, want ErrPlanChanged", err)
	}
	if _, err := s.Approve(ctx, second[0].ID, first[0].Hash); !errors.Is(err, ErrPlanChanged) {
		t.Errorf("approving the new remediation with the old hash: %v, want ErrPlanChanged", err)
	}
	if len(p.applied) != 0 {
		t.Fatalf("applied %v after refused approvals", p.applied)
	}
	if _, err := s.Approve(ctx, second[0].ID, second[0].Hash); err != nil || len(p.applied) != 1 {
		t.Errorf("approving the plan shown: %v, applied %v", err, p.applied)
	}
}
