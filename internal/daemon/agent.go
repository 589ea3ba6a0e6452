package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"plumb.dev/plumb/internal/agent"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/gitsource"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/watch"
)

// AgentOptions are what plumb agent runs with.
type AgentOptions struct {
	// Cluster is the one cluster the agent watches.
	Cluster Cluster
	// Hub is the hub's base URL; Token its bearer token; Client reaches
	// it.
	Hub    string
	Token  string
	Client *http.Client
	// StateDir holds the outbox and the agent's own history.
	StateDir  string
	Heartbeat time.Duration
	// Watch tunes the watcher; Logger and Metrics are set here.
	Watch       watch.Options
	Guardrails  remediate.Guardrails
	Retention   time.Duration
	GitInterval time.Duration
	GitAuth     gitsource.Auth
	Metrics     *metrics.Metrics
	Logger      *slog.Logger
}

// Agent is plumb agent, made and ready to start.
type Agent struct {
	opts   AgentOptions
	local  *store.DB
	outbox *agent.Outbox
	parts  []Runnable
}

// NewAgent opens the agent's state (its history and outbox in StateDir)
// and makes its parts: the watcher records into the outbox, the shipper
// sends it to the hub, and the fixer applies the fixes the hub asks for.
// Close releases the state.
func NewAgent(ctx context.Context, opts AgentOptions) (*Agent, error) {
	c := opts.Cluster
	dbPath := filepath.Join(opts.StateDir, "agent.db")
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("--state-dir: %w", err)
	}
	local, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		return nil, fmt.Errorf("--state-dir: %w", err)
	}
	a := &Agent{opts: opts, local: local}
	if a.outbox, err = agent.OpenOutbox(filepath.Join(opts.StateDir, "outbox")); err != nil {
		local.Close()
		return nil, err
	}
	e := c.Engine
	wopts := opts.Watch
	wopts.Logger, wopts.Metrics = opts.Logger, opts.Metrics
	w := watch.New(c.Name(), c.Cluster, e, c.Objs, &agent.Recorder{Local: local, Outbox: a.outbox}, func(event.Event) {}, wopts)
	c.Objs, a.opts.Cluster.Objs = nil, nil // the watcher keeps compact copies
	sopts := agent.DefaultShipperOptions()
	sopts.Heartbeat, sopts.Logger, sopts.Client = opts.Heartbeat, opts.Logger, opts.Client
	ship := agent.NewShipper(opts.Hub, c.Name(), opts.Token, a.outbox, func() event.Status { return withSources(w.Status(), c) }, sopts)

	planner := remediate.NewPlanner(e, opts.Guardrails, remediate.Options{})
	user := c.Cluster.Identity(ctx)
	fixer := agent.NewFixer(opts.Hub, c.Name(), opts.Token, opts.Client, opts.Logger, func(ctx context.Context, keys []drift.ObjectKey) agent.FixReport {
		return fixForHub(ctx, w, planner, local, user, keys)
	})
	sources := &sourceWatch{clusters: []Cluster{c}, watcherAt: func(int) *watch.Watcher { return w }, storePath: dbPath, auth: opts.GitAuth,
		interval: opts.GitInterval, now: make(chan struct{}), metrics: opts.Metrics, logger: opts.Logger}
	a.parts = []Runnable{
		forever(fixer.Start),
		w,
		forever(ship.Start),
		pruner{store: local, retention: opts.Retention, logger: opts.Logger},
		RunnableFunc(sources.local),
		RunnableFunc(sources.remote),
	}
	return a, nil
}

// Start runs the agent until ctx ends or a part fails.
func (a *Agent) Start(ctx context.Context) error {
	a.opts.Logger.Warn("agent running", "cluster", a.opts.Cluster.Name(), "hub", a.opts.Hub, "pending", a.outbox.Len(), "state", a.opts.StateDir)
	return Run(ctx, a.parts...)
}

// Close releases the agent's state.
func (a *Agent) Close() {
	if a.outbox != nil {
		a.outbox.Close()
	}
	a.local.Close()
}

// fixForHub puts the objects of keys back as their sources declare them, as
// plumb fix would (a fresh comparison, the guardrails, a conflict-safe
// apply), and records the run in the agent's history.
func fixForHub(ctx context.Context, w *watch.Watcher, planner *remediate.Planner, runs remediate.Runs, user string, keys []drift.ObjectKey) agent.FixReport {
	var rep agent.FixReport
	var objs []source.Object
	for _, k := range keys {
		t, ok := w.Target(k)
		if !ok {
			rep.Results = append(rep.Results, agent.FixResult{Object: k.Kind + " " + k.Namespace + "/" + k.Name,
				Outcome: string(store.StepNotApplied), Message: "no source declares it any more"})
			continue
		}
		desired, err := t.Desired()
		if err != nil {
			rep.Error = err.Error()
			return rep
		}
		objs = append(objs, source.Object{Object: desired, Origin: t.Origin()})
	}
	runner := &remediate.Runner{Planner: planner, Runs: runs, User: user}
	run, err := runner.Fix(ctx, objs, remediate.RunOptions{Command: "agent", RecordInSync: true})
	for _, r := range run.Results {
		rep.Results = append(rep.Results, agent.FixResult{Object: r.Step.Object(), Outcome: string(r.Outcome), Message: r.Message})
	}
	rep.Run = run.ID
	switch {
	case err != nil && len(run.Results) > 0:
		rep.Error = "applied, but not recorded: " + err.Error()
	case err != nil:
		rep.Error = err.Error()
	case run.Outcome == store.RunRefused:
		rep.Error = "the agent's guardrails: " + remediate.Refusals(run.Plan)
	}
	return rep
}
