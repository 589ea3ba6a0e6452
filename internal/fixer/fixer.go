package fixer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/watch"
)

// Mode says what plumb serve may do about an object's drift.
type Mode string

const (
	Off     Mode = "off"
	Approve Mode = "approve"
	Auto    Mode = "auto"
)

// ParseMode checks a mode given by a user; "" is Off.
func ParseMode(s string) (Mode, bool) {
	switch m := Mode(s); m {
	case "":
		return Off, true
	case Off, Approve, Auto:
		return m, true
	}
	return "", false
}

// Cluster is what the fixer needs of one watched cluster.
type Cluster struct {
	Name string
	// Planner plans and applies under the guardrails a person's approval
	// is bound by; auto mode adds Options.AutoMaxRisk and AutoBudget.
	Planner *remediate.Planner
	// Target looks up the declaration of an object (watch.Watcher.Target).
	Target func(drift.ObjectKey) (drift.Target, bool)
	// Mode says what may be done about a declared object.
	Mode func(drift.Target) Mode
	// User is the Kubernetes identity writes are made as, for the record.
	User string
}

// Options tune the fixer.
type Options struct {
	// AutoMaxRisk: in auto mode, plans riskier than this wait for
	// approval. Default medium.
	AutoMaxRisk remediate.Risk
	// AutoBudget: in auto mode, at most this many objects are fixed per
	// cluster per minute; beyond, plans wait for approval. Default 20.
	AutoBudget int
	// FightRounds and FightWindow: an object that drifts again this many
	// times within the window after being fixed is no longer fixed.
	// Defaults 3 and 10 minutes.
	FightRounds int
	FightWindow time.Duration
	// Logger receives what the fixer does. Default: discard.
	Logger *slog.Logger
	// Metrics, if set, count remediations and fights.
	Metrics *metrics.Metrics
	// Notify, if set, is called each time a remediation enters a state a
	// person should hear of: pending, refused, fighting or failed. It is
	// called with the fixer's lock held, so it must not block
	// (notify.Notifier.PublishRemediation only queues). Default: none.
	Notify func(Remediation)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{AutoMaxRisk: remediate.RiskMedium, AutoBudget: 20, FightRounds: 3, FightWindow: 10 * time.Minute,
		Logger: slog.New(slog.DiscardHandler), Now: time.Now}
}

// budgetWindow is the span AutoBudget counts fixes over.
const budgetWindow = time.Minute

// State is where a remediation stands.
type State string

const (
	// Pending: a plan waits for approval.
	Pending State = "pending"
	// Refused: a guardrail refused the plan; it cannot be approved.
	Refused State = "refused"
	// Fighting: automatic remediation stopped; something keeps changing
	// the object back.
	Fighting State = "fighting"
	// Failed: automatic remediation tried and the object is not back; it
	// is tried again at the next comparison (a change or a resync).
	Failed State = "failed"
)

// Remediation is a finding's plan that was not (or no longer) applied at
// once: waiting for approval, refused, failed, or given up for fighting.
type Remediation struct {
	ID        int64          `json:"id"`
	FindingID string         `json:"findingId"`
	Cluster   string         `json:"cluster"`
	Mode      Mode           `json:"mode"`
	State     State          `json:"state"`
	Reason    string         `json:"reason,omitempty"`
	Plan      remediate.Plan `json:"plan"`
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
)

// Fixer acts on findings as watchers publish them.
type Fixer struct {
	clusters map[string]*Cluster
	runs     store.RunWriter
	opts     Options
	queue    workqueue.TypedInterface[string]

	mu sync.Mutex
	// events, items, fixes, budget and nextID are guarded by mu.
	// events holds the newest event per finding, waiting for the worker.
	events map[string]watch.Event
	// items are the remediations by finding id.
	items map[string]*Remediation
	// fixes are the times each finding's object was fixed automatically,
	// within the fight window.
	fixes map[string][]time.Time
	// budget are the times of automatic fixes per cluster, within the
	// budget window.
	budget map[string][]time.Time
	nextID int64
}

// New returns a fixer for clusters that records runs in runs.
func New(clusters []*Cluster, runs store.RunWriter, opts Options) *Fixer {
	def := DefaultOptions()
	if _, ok := remediate.ParseRisk(string(opts.AutoMaxRisk)); !ok {
		opts.AutoMaxRisk = def.AutoMaxRisk
	}
	if opts.AutoBudget <= 0 {
		opts.AutoBudget = def.AutoBudget
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
	f := &Fixer{clusters: map[string]*Cluster{}, runs: runs, opts: opts,
		queue:  workqueue.NewTyped[string](),
		events: map[string]watch.Event{}, items: map[string]*Remediation{},
		fixes: map[string][]time.Time{}, budget: map[string][]time.Time{}}
	for _, c := range clusters {
		f.clusters[c.Name] = c
	}
	return f
}

// Publish hands the fixer a watcher's event: a transition, or a
// comparison that found a finding unchanged. It never blocks.
func (f *Fixer) Publish(e watch.Event) {
	if _, ok := f.clusters[e.Cluster]; !ok {
		return
	}
	f.mu.Lock()
	f.events[e.FindingID] = e
	f.mu.Unlock()
	f.queue.Add(e.FindingID)
}

// Start works through events until ctx ends. One worker: plans for one
// cluster are applied one at a time, so the budget and the fight counts
// are exact.
func (f *Fixer) Start(ctx context.Context) {
	go func() { <-ctx.Done(); f.queue.ShutDown() }()
	for {
		id, shutdown := f.queue.Get()
		if shutdown {
			return
		}
		f.mu.Lock()
		e, ok := f.events[id]
		delete(f.events, id)
		f.mu.Unlock()
		if ok {
			f.handle(ctx, e)
		}
		f.queue.Done(id)
	}
}

func (f *Fixer) handle(ctx context.Context, e watch.Event) {
	c := f.clusters[e.Cluster]
	if e.Transition == store.Resolved || e.Finding == nil {
		f.mu.Lock()
		if it := f.items[e.FindingID]; it != nil && it.State == Fighting {
			// Back in sync while plumb kept away: whoever fought has let
			// go. Fix it again next time.
			delete(f.fixes, e.FindingID)
		}
		f.drop(e.FindingID)
		f.mu.Unlock()
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
	now := f.opts.Now()

	f.mu.Lock()
	prev := f.items[e.FindingID]
	if mode == Off || len(plan.Steps) == 0 {
		f.drop(e.FindingID)
		f.mu.Unlock()
		return
	}
	item := &Remediation{FindingID: e.FindingID, Cluster: c.Name, Mode: mode, Plan: plan, CreatedAt: now, UpdatedAt: now}
	if prev != nil {
		item.ID, item.CreatedAt = prev.ID, prev.CreatedAt
	} else {
		f.nextID++
		item.ID = f.nextID
	}
	hold := func(s State, reason string) {
		item.State, item.Reason = s, reason
		if s == Fighting {
			var before []string
			if prev != nil {
				before = prev.Managers
			}
			item.Managers = mergeManagers(before, e.Finding)
		}
		f.set(item)
		f.mu.Unlock()
	}
	if prev != nil && prev.State == Fighting {
		hold(Fighting, prev.Reason)
		return
	}
	if plan.Refused() {
		hold(Refused, refusals(plan))
		if prev == nil || prev.State != Refused {
			f.count(c.Name, mode, "refused")
		}
		f.opts.Logger.Warn("remediation refused", "cluster", c.Name, "object", e.Finding.Key(), "refusals", item.Reason)
		return
	}
	if mode == Approve {
		hold(Pending, "approve mode: waiting for approval")
		if prev == nil || prev.State != Pending {
			f.count(c.Name, mode, "pending")
		}
		return
	}

	// Auto, unless it is fighting, too risky, or over the budget.
	recent := within(f.fixes[e.FindingID], now, f.opts.FightWindow)
	f.fixes[e.FindingID] = recent
	if len(recent) >= f.opts.FightRounds {
		reason := fmt.Sprintf("drifted again %d times within %s after being fixed; automatic remediation stopped until it is back in sync", len(recent), f.opts.FightWindow)
		hold(Fighting, reason)
		f.count(c.Name, mode, "fighting")
		f.opts.Logger.Warn("stopped fixing: the object keeps drifting back", "cluster", c.Name, "object", e.Finding.Key(),
			"fixes", len(recent), "window", f.opts.FightWindow, "managers", strings.Join(item.Managers, ","))
		return
	}
	if r := planRisk(plan); r.Above(f.opts.AutoMaxRisk) {
		hold(Pending, fmt.Sprintf("risk %s is above automatic remediation's limit %s: waiting for approval", r, f.opts.AutoMaxRisk))
		if prev == nil || prev.State != Pending {
			f.count(c.Name, mode, "pending")
		}
		return
	}
	spent := within(f.budget[c.Name], now, budgetWindow)
	f.budget[c.Name] = spent
	if len(spent) >= f.opts.AutoBudget {
		hold(Pending, fmt.Sprintf("automatic remediation fixed %d objects on cluster %s in the last %s, its limit: waiting for approval", len(spent), c.Name, budgetWindow))
		if prev == nil || prev.State != Pending {
			f.count(c.Name, mode, "pending")
		}
		return
	}
	f.mu.Unlock()

	results, err := f.apply(ctx, c, Auto, plan, now)
	f.mu.Lock()
	defer f.mu.Unlock()
	if anyOutcome(results, remediate.OutcomeApplied) {
		f.fixes[e.FindingID] = append(f.fixes[e.FindingID], now)
		f.budget[c.Name] = append(f.budget[c.Name], now)
	}
	msg := failure(results)
	if err != nil {
		msg = err.Error()
	}
	if msg != "" {
		item.State, item.Reason, item.UpdatedAt = Failed, msg, f.opts.Now()
		f.set(item)
		f.opts.Logger.Warn("remediation failed", "cluster", c.Name, "object", e.Finding.Key(), "reason", msg)
		return
	}
	f.drop(e.FindingID)
	f.sweep(now)
}

// set stores item, keeping the fighting gauge right, and tells Notify
// when its state is new. Callers hold mu.
func (f *Fixer) set(item *Remediation) {
	prev := f.items[item.FindingID]
	wasFighting := prev != nil && prev.State == Fighting
	f.items[item.FindingID] = item
	if f.opts.Notify != nil && (prev == nil || prev.State != item.State) {
		f.opts.Notify(*item)
	}
	if item.State == Fighting && !wasFighting {
		f.fightingGauge(item.Cluster, 1)
	}
	if item.State != Fighting && wasFighting {
		f.fightingGauge(item.Cluster, -1)
	}
}

// drop forgets a finding's remediation. Callers hold mu.
func (f *Fixer) drop(findingID string) {
	if it := f.items[findingID]; it != nil && it.State == Fighting {
		f.fightingGauge(it.Cluster, -1)
	}
	delete(f.items, findingID)
}

// sweep forgets fix times past the fight window, so objects fixed once
// long ago cost nothing. Callers hold mu.
func (f *Fixer) sweep(now time.Time) {
	for id, ts := range f.fixes {
		if len(within(ts, now, f.opts.FightWindow)) == 0 {
			delete(f.fixes, id)
		}
	}
}

// apply carries out plan and records it as a run, unless every object
// was already back.
func (f *Fixer) apply(ctx context.Context, c *Cluster, mode Mode, plan remediate.Plan, started time.Time) ([]remediate.Result, error) {
	results, err := c.Planner.Apply(ctx, plan, remediate.ApplyOptions{})
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		f.count(c.Name, mode, string(r.Outcome))
		f.opts.Logger.Info("remediation "+string(r.Outcome), "cluster", c.Name, "mode", mode, "object", r.Step.Object(), "message", r.Message)
	}
	if !slices.ContainsFunc(results, func(r remediate.Result) bool { return r.Outcome != remediate.OutcomeInSync }) {
		return results, nil
	}
	command := "serve"
	if mode == Approve {
		command = "serve-approve"
	}
	run, err := remediate.Record(remediate.RunInfo{Command: command, User: c.User, Started: started, Finished: f.opts.Now()}, plan, results)
	if err != nil {
		return results, err
	}
	if _, err := f.runs.RecordRun(ctx, run); err != nil {
		return results, fmt.Errorf("the run could not be recorded: %w", err)
	}
	return results, nil
}

// List returns the remediations not applied at once, oldest first.
func (f *Fixer) List() []Remediation {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Remediation, 0, len(f.items))
	for _, it := range f.items {
		out = append(out, *it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Get returns one remediation by id.
func (f *Fixer) Get(id int64) (Remediation, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if it := f.byID(id); it != nil {
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
func (f *Fixer) Approve(ctx context.Context, id int64) (Approval, error) {
	f.mu.Lock()
	it := f.byID(id)
	if it == nil {
		f.mu.Unlock()
		return Approval{}, ErrNotFound
	}
	if it.State != Pending {
		f.mu.Unlock()
		return Approval{}, fmt.Errorf("%w: it is %s", ErrNotPending, it.State)
	}
	f.drop(it.FindingID)
	rem := *it
	f.mu.Unlock()
	results, err := f.apply(ctx, f.clusters[rem.Cluster], Approve, rem.Plan, f.opts.Now())
	return Approval{Remediation: rem, Results: results}, err
}

// Reject drops a remediation; the finding stays open, and a new plan is
// made when the object is compared again (a change or a resync).
func (f *Fixer) Reject(id int64) (Remediation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.byID(id)
	if it == nil {
		return Remediation{}, ErrNotFound
	}
	f.drop(it.FindingID)
	return *it, nil
}

func (f *Fixer) byID(id int64) *Remediation {
	for _, it := range f.items {
		if it.ID == id {
			return it
		}
	}
	return nil
}

func (f *Fixer) count(cluster string, mode Mode, outcome string) {
	if m := f.opts.Metrics; m != nil {
		m.Remediations.WithLabelValues(cluster, string(mode), outcome).Inc()
	}
}

func (f *Fixer) fightingGauge(cluster string, d float64) {
	if m := f.opts.Metrics; m != nil {
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

func planRisk(p remediate.Plan) remediate.Risk {
	r := remediate.RiskLow
	for _, s := range p.Steps {
		if s.Risk.Above(r) {
			r = s.Risk
		}
	}
	return r
}

func anyOutcome(rs []remediate.Result, o remediate.Outcome) bool {
	return slices.ContainsFunc(rs, func(r remediate.Result) bool { return r.Outcome == o })
}

// failure describes the steps that neither applied nor found the object
// back in sync; "" when there are none.
func failure(rs []remediate.Result) string {
	var out []string
	for _, r := range rs {
		switch r.Outcome {
		case remediate.OutcomeApplied, remediate.OutcomeInSync, remediate.OutcomeChanged:
			// Changed: the object moved on; its next event plans again.
		default:
			out = append(out, fmt.Sprintf("%s %s: %s", r.Step.Object(), r.Outcome, r.Message))
		}
	}
	return strings.Join(out, "; ")
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

func refusals(p remediate.Plan) string {
	var out []string
	for _, r := range p.Refusals {
		out = append(out, "refused by "+r.Guardrail+": "+r.Reason)
	}
	return strings.Join(out, "; ")
}

// ModeByPath returns a Mode function for sources given by path: an object
// takes the mode of the source whose path is its origin or a folder above
// it, the longest first; def for any other.
func ModeByPath(paths map[string]Mode, def Mode) func(drift.Target) Mode {
	of := modeByOrigin(paths, def)
	return func(t drift.Target) Mode { return of(t.Origin().Path) }
}

// modeByOrigin is ModeByPath on an origin's path.
func modeByOrigin(paths map[string]Mode, def Mode) func(string) Mode {
	clean := make(map[string]Mode, len(paths))
	keys := make([]string, 0, len(paths))
	for p, m := range paths {
		p = filepath.Clean(p)
		clean[p] = m
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	sep := string(filepath.Separator)
	return func(origin string) Mode {
		origin = filepath.Clean(origin)
		for _, p := range keys {
			if origin == p || strings.HasPrefix(origin, strings.TrimSuffix(p, sep)+sep) {
				return clean[p]
			}
		}
		return def
	}
}
