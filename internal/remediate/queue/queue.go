package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/rollout"
	"plumb.dev/plumb/internal/store"
)

// Cluster is what the scheduler needs of one watched cluster.
type Cluster struct {
	Name string
	// Planner plans and applies under the guardrails a person's approval
	// is bound by; auto mode adds Options.AutoMaxRisk and AutoBudget.
	Planner Planner
	// Target looks up the declaration of an object (watch.Watcher.Target).
	Target func(drift.ObjectKey) (drift.Target, bool)
	// Mode says what may be done about a declared object.
	Mode func(drift.Target) remediate.Mode
	// User is the Kubernetes identity writes are made as, for the record.
	User string
	// Ready reports whether every declared object was compared once, for
	// Options.Rollout. Default: always.
	Ready func() bool
}

// Planner plans and applies for one cluster: *remediate.Planner, or a
// test's own.
type Planner interface {
	remediate.Planning
	PlanFinding(f drift.Finding, t drift.Target) remediate.Plan
}

// Options tune the scheduler.
type Options struct {
	// Auto bounds what auto mode applies without a person; a plan beyond
	// it waits for approval. Default remediate.DefaultAutoLimits().
	Auto remediate.AutoLimits
	// FightRounds and FightWindow: an object that drifts again this many
	// times within the window after being fixed is no longer fixed.
	// Defaults 3 and 10 minutes.
	FightRounds int
	FightWindow time.Duration
	// Logger receives what the scheduler does. Default: discard.
	Logger *slog.Logger
	// Metrics, if set, count remediations and fights.
	Metrics *metrics.Metrics
	// Notify, if set, is called each time a remediation enters a state a
	// person should hear of: pending, refused, fighting or failed. It is
	// called with the scheduler's lock held, so it must not block
	// (notify.Notifier.PublishRemediation only queues). Default: none.
	Notify func(Remediation)
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rollout, if set, holds auto mode to the rollout's wave order (see
	// rollout.Gate): a fix waits, state waiting, until the earlier waves
	// are fixed and baked. Default: none.
	Rollout *rollout.Gate
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{Auto: remediate.DefaultAutoLimits(), FightRounds: 3, FightWindow: 10 * time.Minute,
		Logger: slog.New(slog.DiscardHandler), Now: time.Now}
}

// State is where a remediation stands.
type State string

const (
	// StatePending: a plan waits for approval.
	StatePending State = "pending"
	// StateRefused: a guardrail refused the plan; it cannot be approved.
	StateRefused State = "refused"
	// StateFighting: automatic remediation stopped; something keeps changing
	// the object back.
	StateFighting State = "fighting"
	// StateFailed: automatic remediation tried and the object is not back; it
	// is tried again at the next comparison (a change or a resync).
	StateFailed State = "failed"
	// StateWaiting: auto mode waits for the earlier waves of the rollout.
	StateWaiting State = "waiting"
)

// Remediation is a finding's plan that was not (or no longer) applied at
// once: waiting for approval, refused, failed, or given up for fighting.
type Remediation struct {
	ID        int64          `json:"id"`
	FindingID string         `json:"findingId"`
	Cluster   string         `json:"cluster"`
	Mode      remediate.Mode `json:"mode"`
	State     State          `json:"state"`
	Reason    string         `json:"reason,omitempty"`
	Plan      remediate.Plan `json:"plan"`
	// Hash is the plan's (remediate.Plan.Hash): an approval must name it.
	Hash string `json:"hash"`
	// replaces are the remediations of the same finding that this one's
	// new plan made obsolete, so that approving one of them can name it.
	replaces []int64
	// Managers are the field managers whose changes keep coming back
	// (state fighting).
	Managers  []string  `json:"managers,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Errors of Approve and Reject.
var (
	ErrNotFound = errors.New("no such remediation")
	// ErrNotPending: the remediation is refused, failed or fighting.
	ErrNotPending = errors.New("the remediation is not waiting for approval")
	// ErrPlanChanged: the approval names another plan than the one that
	// waits (the object changed, and the plan was made again), or a
	// remediation another replaced.
	ErrPlanChanged = errors.New("the plan changed since it was shown")
	// ErrNoHash: the approval names no plan.
	ErrNoHash = errors.New("an approval names the hash of the plan it approves")
)

// Queue acts on findings as watchers publish them.
type Queue struct {
	clusters map[string]*Cluster
	runs     remediate.Runs
	opts     Options
	// undoMu makes undos one at a time, so that one sees the other's run.
	undoMu sync.Mutex
	queue  workqueue.TypedInterface[string]

	mu sync.Mutex
	// events, items, fixes, budget and nextID are guarded by mu.
	// events holds the newest event per finding, waiting for the worker.
	events map[string]event.Event
	// items are the remediations by finding id.
	items map[string]*Remediation
	// fixes are the times each finding's object was fixed automatically,
	// within the fight window.
	fixes map[string][]time.Time
	// budget are the times of automatic fixes per cluster, within the
	// budget window.
	budget map[string][]time.Time
	// lastFix is when auto mode last fixed something, per cluster (also
	// guarded by mu).
	lastFix map[string]time.Time
	nextID  int64
}

// New returns a scheduler for clusters that records runs in runs.
func New(clusters []*Cluster, runs remediate.Runs, opts Options) *Queue {
	def := DefaultOptions()
	if _, ok := remediate.ParseRisk(string(opts.Auto.MaxRisk)); !ok {
		opts.Auto.MaxRisk = def.Auto.MaxRisk
	}
	if opts.Auto.Budget <= 0 {
		opts.Auto.Budget = def.Auto.Budget
	}
	if opts.FightRounds <= 0 {
		opts.FightRounds = def.FightRounds
	}
	if opts.FightWindow <= 0 {
		opts.FightWindow = def.FightWindow
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	if opts.Now == nil {
		opts.Now = def.Now
	}
	s := &Queue{clusters: map[string]*Cluster{}, runs: runs, opts: opts,
		queue:  workqueue.NewTyped[string](),
		events: map[string]event.Event{}, items: map[string]*Remediation{},
		fixes: map[string][]time.Time{}, budget: map[string][]time.Time{}, lastFix: map[string]time.Time{}}
	for _, c := range clusters {
		s.clusters[c.Name] = c
	}
	return s
}

// Publish hands the scheduler a watcher's event: a transition, or a
// comparison that found a finding unchanged. It never blocks.
func (s *Queue) Publish(e event.Event) {
	if _, ok := s.clusters[e.Cluster]; !ok {
		return
	}
	s.mu.Lock()
	s.events[e.FindingID] = e
	s.mu.Unlock()
	s.queue.Add(e.FindingID)
}

// Start works through events until ctx ends. One worker: plans for one
// cluster are applied one at a time, so the budget and the fight counts
// are exact.
func (s *Queue) Start(ctx context.Context) {
	go func() { <-ctx.Done(); s.queue.ShutDown() }()
	for {
		id, shutdown := s.queue.Get()
		if shutdown {
			return
		}
		s.mu.Lock()
		e, ok := s.events[id]
		delete(s.events, id)
		s.mu.Unlock()
		if ok {
			s.handle(ctx, e)
		}
		s.queue.Done(id)
	}
}

func (s *Queue) handle(ctx context.Context, e event.Event) {
	c := s.clusters[e.Cluster]
	if e.Transition == store.Resolved || e.Finding == nil {
		s.mu.Lock()
		if it := s.items[e.FindingID]; it != nil && it.State == StateFighting {
			// Back in sync while plumb kept away: whoever fought has let
			// go. Fix it again next time.
			delete(s.fixes, e.FindingID)
		}
		s.drop(e.FindingID)
		s.mu.Unlock()
		return
	}
	if e.Finding.State != drift.StateDrifted && e.Finding.State != drift.StateMissing {
		return
	}
	t, ok := c.Target(e.Finding.Key())
	if !ok {
		return
	}
	mode := c.Mode(t)
	plan := c.Planner.PlanFinding(*e.Finding, t)
	now := s.opts.Now()

	s.mu.Lock()
	prev := s.items[e.FindingID]
	if mode == remediate.ModeOff || len(plan.Steps) == 0 {
		s.drop(e.FindingID)
		s.mu.Unlock()
		return
	}
	item := &Remediation{FindingID: e.FindingID, Cluster: c.Name, Mode: mode, Plan: plan, Hash: plan.Hash(), CreatedAt: now, UpdatedAt: now}
	if prev != nil && prev.Hash == item.Hash {
		item.ID, item.CreatedAt, item.replaces = prev.ID, prev.CreatedAt, prev.replaces
	} else {
		// A new plan is a new remediation: whoever saw the old one has
		// not seen this one, and must approve it on its own.
		s.nextID++
		item.ID = s.nextID
		if prev != nil {
			item.replaces = append(slices.Clone(prev.replaces), prev.ID)
		}
	}
	hold := func(state State, reason string) {
		item.State, item.Reason = state, reason
		if state == StateFighting {
			var before []string
			if prev != nil {
				before = prev.Managers
			}
			item.Managers = mergeManagers(before, e.Finding)
		}
		s.set(item)
		s.mu.Unlock()
	}
	if prev != nil && prev.State == StateFighting {
		hold(StateFighting, prev.Reason)
		return
	}
	if plan.Refused() {
		hold(StateRefused, remediate.Refusals(plan))
		if prev == nil || prev.State != StateRefused {
			s.count(c.Name, mode, "refused")
		}
		s.opts.Logger.Warn("remediation refused", "cluster", c.Name, "object", e.Finding.Key(), "refusals", item.Reason)
		return
	}
	if mode == remediate.ModeApprove {
		hold(StatePending, "approve mode: waiting for approval")
		if prev == nil || prev.State != StatePending {
			s.count(c.Name, mode, "pending")
		}
		return
	}

	// Auto, unless it is fighting, too risky, or over the budget.
	recent := within(s.fixes[e.FindingID], now, s.opts.FightWindow)
	s.fixes[e.FindingID] = recent
	if len(recent) >= s.opts.FightRounds {
		reason := fmt.Sprintf("drifted again %d times within %s after being fixed; automatic remediation stopped until it is back in sync", len(recent), s.opts.FightWindow)
		hold(StateFighting, reason)
		s.count(c.Name, mode, "fighting")
		s.opts.Logger.Warn("stopped fixing: the object keeps drifting back", "cluster", c.Name, "object", e.Finding.Key(),
			"fixes", len(recent), "window", s.opts.FightWindow, "managers", strings.Join(item.Managers, ","))
		return
	}
	spent := within(s.budget[c.Name], now, remediate.BudgetWindow)
	s.budget[c.Name] = spent
	if reason := s.opts.Auto.Hold(plan, c.Name, len(spent)); reason != "" {
		hold(StatePending, reason)
		if prev == nil || prev.State != StatePending {
			s.count(c.Name, mode, "pending")
		}
		return
	}
	if reason := s.waitForWaves(e, c, now); reason != "" {
		hold(StateWaiting, reason)
		return
	}
	s.mu.Unlock()

	results, err := s.apply(ctx, c, remediate.ModeAuto, plan, now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if anyOutcome(results, store.StepApplied) {
		s.fixes[e.FindingID] = append(s.fixes[e.FindingID], now)
		s.budget[c.Name] = append(s.budget[c.Name], now)
		s.lastFix[c.Name] = s.opts.Now()
	}
	msg := remediate.Unresolved(results)
	if err != nil {
		msg = err.Error()
	}
	if msg != "" {
		item.State, item.Reason, item.UpdatedAt = StateFailed, msg, s.opts.Now()
		s.set(item)
		s.opts.Logger.Warn("remediation failed", "cluster", c.Name, "object", e.Finding.Key(), "reason", msg)
		return
	}
	s.drop(e.FindingID)
	s.sweep(now)
}

// set stores item, keeping the fighting gauge right, and tells Notify
// when its state is new. Callers hold mu.
func (s *Queue) set(item *Remediation) {
	prev := s.items[item.FindingID]
	wasFighting := prev != nil && prev.State == StateFighting
	s.items[item.FindingID] = item
	if s.opts.Notify != nil && (prev == nil || prev.State != item.State || prev.ID != item.ID) && item.State != StateWaiting {
		s.opts.Notify(*item)
	}
	if item.State == StateFighting && !wasFighting {
		s.fightingGauge(item.Cluster, 1)
	}
	if item.State != StateFighting && wasFighting {
		s.fightingGauge(item.Cluster, -1)
	}
}

// drop forgets a finding's remediation. Callers hold mu.
func (s *Queue) drop(findingID string) {
	if it := s.items[findingID]; it != nil && it.State == StateFighting {
		s.fightingGauge(it.Cluster, -1)
	}
	delete(s.items, findingID)
}

// sweep forgets fix times past the fight window, so objects fixed once
// long ago cost nothing. Callers hold mu.
func (s *Queue) sweep(now time.Time) {
	for id, ts := range s.fixes {
		if len(within(ts, now, s.opts.FightWindow)) == 0 {
			delete(s.fixes, id)
		}
	}
}

// apply carries out plan and records it as a run, unless every object
// was already back.
func (s *Queue) apply(ctx context.Context, c *Cluster, mode remediate.Mode, plan remediate.Plan, started time.Time) ([]remediate.Result, error) {
	command := "serve"
	if mode == remediate.ModeApprove {
		command = "serve-approve"
	}
	run, err := s.runner(c).Carry(ctx, plan, remediate.RunOptions{Command: command, Started: started})
	for _, r := range run.Results {
		s.count(c.Name, mode, string(r.Outcome))
		s.opts.Logger.Info("remediation "+string(r.Outcome), "cluster", c.Name, "mode", mode, "object", r.Step.Object(), "message", r.Message)
	}
	return run.Results, err
}

// List returns the remediations not applied at once, oldest first.
func (s *Queue) List() []Remediation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Remediation, 0, len(s.items))
	for _, it := range s.items {
		out = append(out, *it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Get returns one remediation by id.
func (s *Queue) Get(id int64) (Remediation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.byID(id); it != nil {
		return *it, true
	}
	return Remediation{}, false
}

// Approval is what approving a remediation did.
type Approval struct {
	Remediation Remediation        `json:"remediation"`
	Results     []remediate.Result `json:"results"`
}

// Approve applies a pending remediation. The plan is applied
// conflict-safe: an object that changed since is compared again and left
// alone unless the plan still holds.
func (s *Queue) Approve(ctx context.Context, id int64, hash string) (Approval, error) {
	s.mu.Lock()
	it := s.byID(id)
	if it == nil {
		var by int64
		for _, other := range s.items {
			if slices.Contains(other.replaces, id) {
				by = other.ID
			}
		}
		s.mu.Unlock()
		if by != 0 {
			return Approval{}, fmt.Errorf("%w: remediation %d was replaced by %d when its object changed; review and approve that one", ErrPlanChanged, id, by)
		}
		return Approval{}, ErrNotFound
	}
	if it.State != StatePending {
		s.mu.Unlock()
		return Approval{}, fmt.Errorf("%w: it is %s", ErrNotPending, it.State)
	}
	if hash == "" {
		s.mu.Unlock()
		return Approval{}, ErrNoHash
	}
	if hash != it.Hash {
		s.mu.Unlock()
		return Approval{}, fmt.Errorf("%w: remediation %d's plan is %s now, not %s; review it again", ErrPlanChanged, id, it.Hash, hash)
	}
	s.drop(it.FindingID)
	rem := *it
	s.mu.Unlock()
	// The approved plan is applied as it was shown: a step whose object
	// changed since is compared again and left alone unless its changes,
	// live values included, are still the same (remediate's Apply).
	results, err := s.apply(ctx, s.clusters[rem.Cluster], remediate.ModeApprove, rem.Plan, s.opts.Now())
	return Approval{Remediation: rem, Results: results}, err
}

// Reject drops a remediation; the finding stays open, and a new plan is
// made when the object is compared again (a change or a resync).
func (s *Queue) Reject(id int64) (Remediation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byID(id)
	if it == nil {
		return Remediation{}, ErrNotFound
	}
	s.drop(it.FindingID)
	return *it, nil
}

func (s *Queue) byID(id int64) *Remediation {
	for _, it := range s.items {
		if it.ID == id {
			return it
		}
	}
	return nil
}

func (s *Queue) count(cluster string, mode remediate.Mode, outcome string) {
	if m := s.opts.Metrics; m != nil {
		m.Remediations.WithLabelValues(cluster, string(mode), outcome).Inc()
	}
}

func (s *Queue) fightingGauge(cluster string, d float64) {
	if m := s.opts.Metrics; m != nil {
		m.Fighting.WithLabelValues(cluster).Add(d)
	}
}

// within returns the times in ts less than window before now.
func within(ts []time.Time, now time.Time, window time.Duration) []time.Time {
	var out []time.Time
	for _, at := range ts {
		if now.Sub(at) < window {
			out = append(out, at)
		}
	}
	return out
}

func anyOutcome(rs []remediate.Result, o store.StepOutcome) bool {
	return slices.ContainsFunc(rs, func(r remediate.Result) bool { return r.Outcome == o })
}

// mergeManagers adds the managers of the finding's changes to ms.
func mergeManagers(ms []string, fd *drift.Finding) []string {
	out := slices.Clone(ms)
	for _, c := range fd.Changes {
		if c.Manager != "" && !slices.Contains(out, c.Manager) {
			out = append(out, c.Manager)
		}
	}
	sort.Strings(out)
	return out
}
