package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"plumb.dev/plumb/internal/agent"
	"plumb.dev/plumb/internal/audit"
	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/fleet"
	"plumb.dev/plumb/internal/gitsource"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/notify"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/remediate/schedule"
	"plumb.dev/plumb/internal/server"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/sourcewatch"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/watch"
)

type serveOptions struct {
	*globalOptions
	scanFlags
	listen    string
	storePath string
	tokenFile string
	// allowedHosts are extra names the API answers to (--allowed-host).
	allowedHosts []string
	resync       time.Duration
	retention    time.Duration
	workers      int
	gitInterval  time.Duration
	auditListen  string
	admission    admissionFlags
	webhooks     []string
	slack        []string
	// remediation is the mode of the --source sources.
	remediation string
	autoMaxRisk string
	fightRounds int
	fightWindow time.Duration
	shard       shardFlags
	// agents: the API takes plumb agent's observations (--agents).
	agents bool
	flags  *pflag.FlagSet
}

func newServeCommand(g *globalOptions) *cobra.Command {
	o := &serveOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "serve (--source PATH ... | -c plumb.yaml)",
		Short: "Watch clusters continuously: findings within a second, history, API and metrics",
		Long: `Watch the objects the sources declare, on the current context (--source) or
on every cluster of a configuration (-c), and keep their findings current as
the clusters change: a change made with kubectl is a finding within a second,
and reverting it resolves the finding. Findings and their history go to a
SQLite store; a JSON API (/api/v1, with its OpenAPI document at
/api/v1/openapi.json and a Server-Sent Events stream at /api/v1/stream),
Prometheus metrics (/metrics) and probes (/healthz, /readyz) are served on
--listen. It stops cleanly on SIGTERM or Ctrl-C.

The API answers only requests addressed to the --listen address, localhost
or an --allowed-host name, so a web page cannot reach it through a name of
its own. With --token-file every API request needs the bearer token;
without one, writes (approve, reject) are accepted from scripts and from
plumb's own origin, never from another site's page.

Remediation is off unless asked for: --remediation for the --source
sources, or each binding's remediation in the configuration. In approve
mode a drifted or missing object gets a plan that waits for approval
(GET /api/v1/remediations, POST /api/v1/remediations/ID/approve or
/reject). In auto mode it is put back at once, as plumb fix would, under
the configuration's guardrails; a plan riskier than --auto-max-risk, or
beyond maxObjectsPerRun objects fixed on a cluster in one minute, waits
for approval instead. An object that drifts again --fight-rounds times
within --fight-window of being fixed is left alone, its finding open,
with the managers that keep changing it. Every plan applied is a run in
plumb history.

--notify-webhook and --notify-slack tell people when a finding opens or
resolves, and when a remediation needs them: it waits for approval, was
refused, failed, or stopped because something fights it.`,
		Example: `  plumb serve --source deploy/
  plumb serve --source deploy/ --remediation auto
  plumb serve --source deploy/ --remediation approve --notify-slack https://hooks.slack.com/services/...
  plumb serve -c plumb.yaml --listen 0.0.0.0:8080 --token-file /var/run/secrets/plumb/token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.scanFlags.add(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "Address to serve the API, metrics and probes on; a non-loopback address needs --token-file")
	fs.StringVar(&o.storePath, "store", "", storeFlagHelp)
	fs.StringVar(&o.tokenFile, "token-file", "", "File holding the bearer token API clients must send")
	fs.StringArrayVar(&o.allowedHosts, "allowed-host", nil, "A host name clients may reach the API by, besides the --listen address and localhost, e.g. plumb.example.com or *.example.com (repeatable); requests naming any other Host are refused")
	fs.DurationVar(&o.resync, "resync", 10*time.Minute, "Rescan everything this often, as a safety net")
	fs.DurationVar(&o.retention, "retention", 30*24*time.Hour, "Delete resolved events older than this")
	fs.IntVar(&o.workers, "workers", 4, "Objects compared in parallel per cluster")
	fs.DurationVar(&o.gitInterval, "git-interval", sourcewatch.DefaultInterval, "Read the commit of each Git source (and the revision of each Helm release source) this often; a push webhook can ask sooner (POST /api/v1/hooks/git)")
	fs.StringVar(&o.auditListen, "audit-listen", "", "Address to receive the API servers' audit webhook on (POST /audit/CLUSTER, or / with one cluster), to name the user behind each change; see docs/serve.md")
	fs.StringVar(&o.admission.mode, "admission", "off", "Admission webhook that stops out-of-band changes to declared fields: off, warn (the write goes through with a warning) or enforce (it is denied); see docs/serve.md")
	fs.StringVar(&o.admission.listen, "admission-listen", "", "Address the admission webhook serves HTTPS on, with a certificate plumb makes, e.g. 0.0.0.0:9443")
	fs.StringVar(&o.admission.url, "admission-url", "", "URL the API servers call the webhook at (https://...); default https:// and the --admission-listen address")
	fs.StringArrayVar(&o.admission.allowManagers, "admission-allow-manager", nil, "A field manager whose writes to declared fields pass, besides plumb's and each object's deployer, e.g. argocd-controller (repeatable; path.Match patterns)")
	fs.StringArrayVar(&o.admission.exempt, "admission-exempt", nil, "A user or group whose writes are never reviewed, besides kube-system's controllers, e.g. system:serviceaccount:argocd:argocd-application-controller (repeatable; path.Match patterns)")
	fs.StringArrayVar(&o.webhooks, "notify-webhook", nil, "POST a JSON notification here when a finding opens or resolves and when a remediation needs a person (repeatable)")
	fs.StringArrayVar(&o.slack, "notify-slack", nil, "Slack incoming-webhook URL to notify when a finding opens or resolves and when a remediation needs a person (repeatable)")
	fs.StringVar(&o.remediation, "remediation", "off", "What to do about drift from the --source sources: off, approve (plans wait for approval through the API) or auto")
	fs.StringVar(&o.autoMaxRisk, "auto-max-risk", "medium", "In auto mode, plans riskier than this (low, medium, high, critical) wait for approval; the configuration's guardrails.autoMaxRisk unless given")
	fs.IntVar(&o.fightRounds, "fight-rounds", 3, "In auto mode, stop fixing an object that drifted again this many times within --fight-window of being fixed")
	fs.DurationVar(&o.fightWindow, "fight-window", 10*time.Minute, "See --fight-rounds")
	fs.BoolVar(&o.agents, "agents", false, "Take the findings of clusters plumb agent watches, sent to POST /api/v1/agents/CLUSTER/observations (needs --token-file unless --listen is loopback); with no --source or clusters, serve only agents' clusters; see docs/agent.md")
	o.shard.add(fs)
	o.flags = fs
	return cmd
}

func (o *serveOptions) Validate() error {
	if o.output != "" {
		return fmt.Errorf("serve does not print reports; use the API or plumb scan -o %s", o.output)
	}
	if o.workers < 1 || o.resync <= 0 || o.retention <= 0 || o.fightRounds < 1 || o.fightWindow <= 0 {
		return fmt.Errorf("--workers, --resync, --retention, --fight-rounds and --fight-window must be positive")
	}
	if _, ok := remediate.ParseMode(o.remediation); !ok {
		return fmt.Errorf("--remediation %q: want off, approve or auto", o.remediation)
	}
	if _, ok := remediate.ParseRisk(o.autoMaxRisk); !ok {
		return fmt.Errorf("--auto-max-risk %q: want low, medium, high or critical", o.autoMaxRisk)
	}
	if err := o.admission.validate(); err != nil {
		return err
	}
	if o.agents && o.shard.namespace != "" {
		return fmt.Errorf("--agents takes one hub's agents; it cannot be shared among replicas (--lease-namespace)")
	}
	if err := o.shard.validate(o); err != nil {
		return err
	}
	if o.agents && len(o.sources) == 0 && o.configFile == "" {
		return nil // a hub of agents' clusters only
	}
	return o.scanFlags.validate()
}

// clusterSetup is one cluster to watch.
type clusterSetup struct {
	name    string
	cluster *cluster.Cluster
	// objs are the declared objects, kept as JSON until the watcher has
	// resolved and compacted them.
	objs []source.Encoded
	// reload loads the cluster's sources again.
	reload func(context.Context) ([]source.Encoded, []source.Error)
	// paths are the files and folders its sources are read from, and its
	// Git and Helm release sources.
	paths []string
	// versions are the commits and revisions of its Git and Helm release
	// sources, read before they were loaded.
	versions map[string]string
	// mode says what may be done about an object's drift.
	mode func(drift.Target) remediate.Mode
	// remediates: some source's mode is not off.
	remediates bool
}

func (o *serveOptions) Run(ctx context.Context) error {
	restoreGC := func() {}
	if os.Getenv("GOGC") == "" {
		prev := debug.SetGCPercent(startupGCPercent)
		restoreGC = func() { debug.SetGCPercent(prev) }
	}
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	rules, err := o.ignoreRules(cfg)
	if err != nil {
		return err
	}
	token := ""
	if o.tokenFile != "" {
		if token, err = readToken(o.tokenFile); err != nil {
			return err
		}
	}
	if o.shard.namespace != "" && !isFleet(cfg) {
		return fmt.Errorf("--lease-namespace shares a fleet: give -c with a configuration that lists clusters")
	}
	m := metrics.New()
	setups, unbound, err := o.clusters(ctx, cfg, m)
	if err != nil {
		return err
	}

	st, path, err := openStore(ctx, o.storePath, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	hub := server.NewHub()
	var agents *agent.Receiver
	var sinks []notify.Sink
	for _, u := range o.webhooks {
		sinks = append(sinks, notify.Sink{Kind: notify.Webhook, URL: u})
	}
	for _, u := range o.slack {
		sinks = append(sinks, notify.Sink{Kind: notify.Slack, URL: u})
	}
	nopts := notify.Options{Logger: o.logger, Metrics: m}
	if o.auditListen != "" {
		nopts.HoldOpened = auditHold
	}
	notifier := notify.New(sinks, nopts)
	var remediated []*schedule.Cluster
	// sched needs the watchers and they publish to it: it is made right
	// after them, before any of them starts.
	var sched *schedule.Scheduler
	publish := func(e event.Event) {
		hub.Publish(e)
		notifier.Publish(e)
		sched.Publish(e)
	}
	var watchers []*watch.Watcher
	var sharded *shardedWatchers
	var engines []*drift.Engine
	var audits *auditReceiver
	var auditLn net.Listener
	if o.auditListen != "" {
		if auditLn, err = net.Listen("tcp", o.auditListen); err != nil {
			return fmt.Errorf("--audit-listen: %w", err)
		}
		defer auditLn.Close()
		audits = newAuditReceiver(token)
	}
	// With --lease-namespace a cluster's watcher is made when this
	// replica takes the cluster; otherwise every one is made now.
	builds := make([]func([]source.Encoded) *watch.Watcher, len(setups))
	for i, s := range setups {
		opts := o.driftOptions(o.globalOptions, rules)
		e, err := drift.New(s.cluster, opts)
		if err != nil {
			return err
		}
		builds[i] = func(objs []source.Encoded) *watch.Watcher {
			wopts := watch.Options{Workers: o.workers, Resync: o.resync, Logger: o.logger, Metrics: m, Unmanaged: o.unmanaged,
				UnmanagedClusterWideAfter: o.wideAfter, Unchanged: func(e event.Event) { sched.Publish(e) }}
			var ix *audit.Index
			if audits != nil {
				// The watcher asks the index who made a change; the index's
				// webhook has the watcher compare again what it hears of.
				ix = audits.index(s.name)
				wopts.Attribute = attributor(ix, s.cluster)
			}
			w := watch.New(s.name, s.cluster, e, objs, st, publish, wopts)
			if audits != nil {
				audits.route(s.name, len(setups) == 1, ix, w)
			}
			return w
		}
		engines = append(engines, e)
		var target func(drift.ObjectKey) (drift.Target, bool)
		var ready func() bool
		if o.shard.namespace == "" {
			w := builds[i](s.objs)
			watchers, target, ready = append(watchers, w), w.Target, w.Ready
			setups[i].objs = nil // the watcher keeps compact copies
		} else {
			// sharded is made below, once every cluster's build is known.
			target = func(k drift.ObjectKey) (drift.Target, bool) { return sharded.target(i, k) }
		}
		if s.remediates {
			remediated = append(remediated, &schedule.Cluster{Name: s.name, Planner: remediate.NewPlanner(e, configGuardrails(cfg), remediate.Options{}),
				Target: target, Mode: s.mode, User: s.cluster.Identity(ctx), Ready: ready})
		}
	}
	watcherAt := func(i int) *watch.Watcher { return watchers[i] }
	if o.shard.namespace != "" {
		if sharded, err = o.newShardedWatchers(ctx, setups, builds); err != nil {
			return err
		}
		watcherAt = sharded.at
	}
	adm, err := o.newAdmission(ctx, setups, watchers, engines, m)
	if err != nil {
		return err
	}
	remoteNow := make(chan struct{}, 1)
	var gitHook func()
	for _, s := range setups {
		if slices.ContainsFunc(s.paths, gitsource.Is) {
			gitHook = func() {
				select {
				case remoteNow <- struct{}{}:
				default: // a reading is already asked for
				}
			}
		}
	}
	if o.agents {
		// No remediation here: the scheduler plans only for clusters
		// the hub can reach.
		toPeople := func(e event.Event) { hub.Publish(e); notifier.Publish(e) }
		if agents, err = newAgentReceiver(ctx, st, setups, unbound, toPeople); err != nil {
			return err
		}
	}
	schedOpts := o.scheduleOptions(cfg, m)
	schedOpts.Notify = notifier.PublishRemediation
	schedOpts.Rollout = rolloutGate(cfg)
	sched = schedule.New(remediated, st, schedOpts)
	srv, err := server.New(server.Backend{
		Store: st,
		Clusters: func() []event.Status {
			out := make([]event.Status, len(watchers), len(watchers)+len(unbound))
			for i, w := range watchers {
				out[i] = w.Status()
			}
			if sharded != nil {
				out = sharded.statuses()
			}
			for _, name := range unbound {
				out = append(out, event.Status{Name: name, State: event.StateUnbound, Ready: true})
			}
			if agents != nil {
				out = append(out, agents.Statuses()...)
			}
			return out
		},
		Ready: func() bool {
			if sharded != nil && !sharded.ready() {
				return false
			}
			for _, w := range watchers {
				if !w.Ready() {
					return false
				}
			}
			return true
		},
		Hub:          hub,
		Metrics:      m,
		Runs:         st,
		Remediations: sched,
		GitHook:      gitHook,
		Labels:       clusterLabels(cfg),
		Pricing:      pricing(cfg),
		Agents:       agents,
	}, server.Options{Listen: o.listen, Token: token, AllowedHosts: o.allowedHosts, Logger: o.logger})
	if err != nil {
		return err
	}

	var wg sync.WaitGroup
	for _, w := range watchers {
		wg.Add(1)
		go func() { defer wg.Done(); _ = w.Start(ctx) }()
	}
	if sharded != nil {
		wg.Add(1)
		go func() { defer wg.Done(); sharded.run(ctx) }()
	}
	if audits != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := audits.start(ctx, auditLn); err != nil {
				o.logger.Error("audit webhook receiver stopped", "listen", o.auditListen, "err", err)
			}
		}()
	}
	if adm != nil {
		adm.start(ctx, &wg, o)
	}
	wg.Add(6)
	go func() { defer wg.Done(); o.watchRemoteSources(ctx, setups, watcherAt, remoteNow, m) }()
	go func() { defer wg.Done(); sched.Start(ctx) }()
	go func() { defer wg.Done(); releaseStartupMemory(ctx, watchers, restoreGC) }()
	go func() { defer wg.Done(); o.prune(ctx, st) }()
	go func() { defer wg.Done(); notifier.Start(ctx) }()
	go func() { defer wg.Done(); o.watchSources(ctx, setups, watcherAt, path) }()
	o.logger.Warn("serving", "listen", o.listen, "clusters", len(setups), "remediating", len(remediated), "store", path)
	err = srv.Start(ctx)
	wg.Wait()
	return err
}

// clusters connects to the current context, or to the configuration's
// clusters that a binding selects; it names the others (unbound), which
// are not contacted.
func (o *serveOptions) clusters(ctx context.Context, cfg *config.File, m *metrics.Metrics) (setups []clusterSetup, unbound []string, err error) {
	if !isFleet(cfg) {
		if len(o.sources) == 0 && o.agents {
			return nil, nil, nil // a hub of agents' clusters only
		}
		if len(o.sources) == 0 {
			return nil, nil, fmt.Errorf("at least one --source is required (or -c with a configuration that lists clusters)")
		}
		name, err := cluster.ContextName(o.kube)
		if err != nil {
			return nil, nil, err
		}
		copts := cluster.DefaultOptions()
		copts.WrapTransport = m.Transport(name)
		c, err := cluster.New(o.kube, copts)
		if err != nil {
			return nil, nil, err
		}
		opts := o.sourceOptions(c)
		reload := func(ctx context.Context) ([]source.Encoded, []source.Error) {
			return source.LoadEncoded(ctx, o.sources, opts)
		}
		versions := o.sourceVersions(ctx, c, o.sources)
		objs, errs := reload(ctx)
		o.reportSourceErrors(errs)
		paths := append(append([]string{}, o.sources...), o.values...)
		mode, _ := remediate.ParseMode(o.remediation)
		modes := map[string]remediate.Mode{}
		for _, p := range o.sources {
			modes[p] = mode
		}
		return []clusterSetup{{name: c.Name, cluster: c, objs: objs, reload: reload, paths: paths, versions: versions,
			mode: remediate.ModeByPath(modes, remediate.ModeOff), remediates: mode != remediate.ModeOff}}, nil, nil
	}
	if o.flags.Changed("remediation") {
		return nil, nil, fmt.Errorf("--remediation is for --source; with -c, set remediation on each binding in %s", cfg.Path)
	}
	targets, err := o.fleet.targets(cfg)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range targets {
		if !t.Bound() {
			unbound = append(unbound, t.Cluster.Name)
			continue
		}
		copts := cluster.DefaultOptions()
		copts.WrapTransport = m.Transport(t.Cluster.Name)
		c, err := fleet.Dial(t, "", 0, copts)
		if err != nil {
			return nil, nil, fmt.Errorf("cluster %s: %w", t.Cluster.Name, err)
		}
		var paths []string
		modes := map[string]remediate.Mode{}
		remediates := false
		for _, b := range t.Sources {
			paths = append(append(paths, b.Source.Path), b.Source.Values...)
			mode, _ := remediate.ParseMode(string(b.Remediation))
			modes[b.Source.Path] = mode
			remediates = remediates || mode != remediate.ModeOff
		}
		reload := func(ctx context.Context) ([]source.Encoded, []source.Error) {
			decoded, errs := fleet.Load(ctx, t, c, o.gitAuth)
			objs, encErrs := source.EncodeAll(decoded)
			return objs, append(errs, encErrs...)
		}
		versions := o.sourceVersions(ctx, c, paths)
		objs, errs := reload(ctx)
		o.reportSourceErrors(errs)
		setups = append(setups, clusterSetup{name: t.Cluster.Name, cluster: c, objs: objs, reload: reload, paths: paths, versions: versions,
			mode: remediate.ModeByPath(modes, remediate.ModeOff), remediates: remediates})
	}
	return setups, unbound, nil
}

// scheduleOptions are the remediation limits: the configuration's, with the
// flags given on top.
func (o *serveOptions) scheduleOptions(cfg *config.File, m *metrics.Metrics) schedule.Options {
	opts := schedule.DefaultOptions()
	opts.Logger, opts.Metrics = o.logger, m
	opts.Auto.Budget = configGuardrails(cfg).MaxObjects
	opts.FightRounds, opts.FightWindow = o.fightRounds, o.fightWindow
	opts.Auto.MaxRisk, _ = remediate.ParseRisk(o.autoMaxRisk)
	if cfg != nil && !o.flags.Changed("auto-max-risk") {
		if r, ok := remediate.ParseRisk(cfg.Guardrails.AutoMaxRisk); ok {
			opts.Auto.MaxRisk = r
		}
	}
	return opts
}

func (o *serveOptions) reportSourceErrors(errs []source.Error) {
	for _, e := range errs {
		o.logger.Warn("bad input; the rest is watched", "err", e.Error())
	}
}

// prune deletes resolved events past the retention, hourly.
func (o *serveOptions) prune(ctx context.Context, st store.Writer) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := st.Prune(ctx, time.Now().Add(-o.retention)); err != nil && ctx.Err() == nil {
			o.logger.Warn("prune history", "err", err)
		} else if n > 0 {
			o.logger.Info("pruned history", "events", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchSources reloads a cluster's sources when their files change. Only
// objects whose declaration changed are compared again.
func (o *serveOptions) watchSources(ctx context.Context, setups []clusterSetup, watcherAt func(int) *watch.Watcher, storePath string) {
	w := sourcewatch.Watch{
		Ignore: store.SQLiteFiles(storePath),
		Warn:   func(msg string, err error) { o.logger.Warn(msg, "err", err) },
	}
	for _, s := range setups {
		w.Groups = append(w.Groups, localSources(s.paths)) // the rest: watchRemoteSources
	}
	err := w.Run(ctx, o.reloader(ctx, setups, watcherAt))
	if err != nil {
		o.logger.Warn("cannot watch sources; restart plumb serve to pick up changes", "err", err)
	}
}

// startupGCPercent is the garbage collector's target while the sources load
// and the initial sync runs, unless GOGC is set. The sources are parsed and
// the first list of every watched kind is decoded and compared all at once;
// collecting more often keeps that burst (and the heap pages it leaves
// partly used) smaller. At 20,000 objects it cut the peak from 360 to
// 275 MiB and the settled RSS by 11 MiB, for about 3 s more of startup.
const startupGCPercent = 25

// releaseStartupMemory returns the initial sync's garbage to the operating
// system once every cluster is ready, and restores the garbage collector's
// target. Afterwards plumb keeps only compact declarations and comparison
// results, and the Go runtime would otherwise hand the burst back only
// slowly.
func releaseStartupMemory(ctx context.Context, watchers []*watch.Watcher, restoreGC func()) {
	defer restoreGC()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ready := true
		for _, w := range watchers {
			ready = ready && w.Ready()
		}
		if ready {
			debug.FreeOSMemory()
			return
		}
	}
}
