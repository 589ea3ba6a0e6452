package cli

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"plumb.dev/plumb/internal/admission"
	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/daemon"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/fleet"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/notify"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/remediate/queue"
	"plumb.dev/plumb/internal/server"
	"plumb.dev/plumb/internal/sourcewatch"
	"plumb.dev/plumb/internal/watch"
)

type serveOptions struct {
	*globalOptions
	scanFlags
	listen    string
	storePath string
	tokenFile string
	// allowedHosts are extra names the API answers to (--allowed-host).
	allowedHosts   []string
	resync         time.Duration
	retention      time.Duration
	workers        int
	gitInterval    time.Duration
	audit          auditFlags
	admission      admissionFlags
	pprof          bool
	hookSecretFile string
	webhooks       []string
	slack          []string
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
store (--store); a JSON API (/api/v1, with its OpenAPI document at
/api/v1/openapi.json and a Server-Sent Events stream at /api/v1/stream),
Prometheus metrics (/metrics) and probes (/healthz, /readyz) are served on
--listen. /readyz is about plumb itself: it answers 200 once each cluster
has synced or is known to be unreachable (or after 2 minutes), so one
cluster down does not take the API away; GET /api/v1/clusters and the
plumb_cluster_* metrics say how each cluster is. It stops cleanly on
SIGTERM or Ctrl-C.

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
	fs.StringVar(&o.hookSecretFile, "git-hook-secret-file", "", "File holding the Git push hook's own secret, as GitLab's X-Gitlab-Token or the key of GitHub's X-Hub-Signature-256 (POST /api/v1/hooks/git); never the API token")
	fs.BoolVar(&o.pprof, "profiling", false, "Serve Go's profiles at /debug/pprof/ on --listen, behind the token, as Kubernetes components' --profiling does")
	fs.StringArrayVar(&o.allowedHosts, "allowed-host", nil, "A host name clients may reach the API by, besides the --listen address and localhost, e.g. plumb.example.com or *.example.com (repeatable); requests naming any other Host are refused")
	fs.DurationVar(&o.resync, "resync", 10*time.Minute, "Rescan everything this often, as a safety net")
	fs.DurationVar(&o.retention, "retention", 30*24*time.Hour, "Delete resolved events older than this")
	fs.IntVar(&o.workers, "workers", 4, "Objects compared in parallel per cluster")
	fs.DurationVar(&o.gitInterval, "git-interval", sourcewatch.DefaultInterval, "Read the commit of each Git source (and the revision of each Helm release source) this often; a push webhook can ask sooner (POST /api/v1/hooks/git)")
	fs.StringVar(&o.audit.listen, "audit-listen", "", "Address to receive the API servers' audit webhook on (POST /audit/CLUSTER, or / with one cluster), to name the user behind each change; see docs/serve.md")
	fs.StringVar(&o.audit.certFile, "audit-tls-cert-file", "", "Certificate the audit receiver serves HTTPS with (required unless --audit-listen is loopback)")
	fs.StringVar(&o.audit.keyFile, "audit-tls-key-file", "", "Key of --audit-tls-cert-file")
	fs.StringVar(&o.audit.tokenFile, "audit-token-file", "", "File holding the bearer token the API servers' audit webhook kubeconfig sends (over TLS)")
	fs.StringVar(&o.audit.clientCA, "audit-client-ca", "", "PEM file of the CA whose client certificates the API servers' audit webhook presents")
	fs.BoolVar(&o.audit.open, "audit-allow-unauthenticated", false, "Take audit events from anyone who reaches a loopback --audit-listen")
	fs.StringVar(&o.admission.mode, "admission", "off", "Admission webhook that stops out-of-band changes to declared fields: off, warn (the write goes through with a warning) or enforce (it is denied); see docs/serve.md")
	fs.StringVar(&o.admission.listen, "admission-listen", "", "Address the admission webhook serves HTTPS on, with a certificate plumb makes, e.g. 0.0.0.0:9443")
	fs.StringVar(&o.admission.url, "admission-url", "", "URL the API servers call the webhook at (https://...); default https:// and the --admission-listen address")
	fs.StringArrayVar(&o.admission.deployers, "admission-deployer", nil, "Who deploys the --source sources: a user, group or service account whose writes to what they declare pass, e.g. system:serviceaccount:flux-system:kustomize-controller or ci-deployer (repeatable; path.Match patterns; with -c, set deployers on each source)")
	fs.StringArrayVar(&o.admission.exempt, "admission-exempt", nil, "A user or group whose writes are never reviewed, besides kube-system's controllers (repeatable; path.Match patterns)")
	fs.StringArrayVar(&o.admission.breakGlass, "admission-break-glass", nil, "A user or group who may break glass: the plumb.dev/break-glass annotation lets their writes through, recorded in the store (repeatable; path.Match patterns; default nobody)")
	fs.StringVar(&o.admission.tokenFile, "admission-token-file", "", "File holding the bearer token the API servers send the webhook (their AdmissionConfiguration's kubeConfigFile); reviews without it are refused")
	fs.StringVar(&o.admission.clientCA, "admission-client-ca", "", "PEM file of the CA whose client certificates the API servers present to the webhook; reviews without one are refused")
	fs.BoolVar(&o.admission.open, "admission-allow-unauthenticated", false, "Take reviews from anyone who reaches the webhook, for API servers that cannot be given a credential (managed clusters); let only them reach --admission-listen")
	fs.StringArrayVar(&o.admission.allowManagers, "admission-allow-manager", nil, "Gone: admission decides by the authenticated identity, not by field manager names; use --admission-deployer")
	_ = fs.MarkHidden("admission-allow-manager")
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
	if err := o.audit.validate(); err != nil {
		return err
	}
	if o.agents && o.shard.namespace != "" {
		return fmt.Errorf("--agents takes one hub's agents; it cannot be shared among replicas (--lease-namespace)")
	}
	if err := o.shard.validate(o); err != nil {
		return err
	}
	if err := o.refuseStdin("serve"); err != nil {
		return err
	}
	if o.agents && len(o.sources) == 0 && o.configFile == "" {
		return nil // a hub of agents' clusters only
	}
	return o.scanFlags.validate()
}

func (o *serveOptions) Run(ctx context.Context) error {
	restoreGC := daemon.LowerGC()
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
	hookSecret := ""
	if o.hookSecretFile != "" {
		if hookSecret, err = readSecretFile("--git-hook-secret-file", o.hookSecretFile); err != nil {
			return err
		}
	}
	auditOpts, err := o.audit.options()
	if err != nil {
		return err
	}
	admissionOpts, err := o.admission.options()
	if err != nil {
		return err
	}
	if o.shard.namespace != "" && !isFleet(cfg) {
		return fmt.Errorf("--lease-namespace shares a fleet: give -c with a configuration that lists clusters")
	}
	m := metrics.New()
	clusters, unbound, err := o.clusters(ctx, cfg, m, o.driftOptions(o.globalOptions, rules))
	if err != nil {
		return err
	}
	shard, err := o.shard.options(o.kube)
	if err != nil {
		return err
	}
	st, path, err := openStore(ctx, o.storePath, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	var sinks []notify.Sink
	for _, u := range o.webhooks {
		sinks = append(sinks, notify.Sink{Kind: notify.Webhook, URL: u})
	}
	for _, u := range o.slack {
		sinks = append(sinks, notify.Sink{Kind: notify.Slack, URL: u})
	}
	s, err := daemon.New(ctx, daemon.Options{
		Clusters:  clusters,
		Unbound:   unbound,
		Store:     st,
		StorePath: path,
		Watch: watch.Options{Workers: o.workers, Resync: o.resync, Unmanaged: o.unmanaged,
			UnmanagedClusterWideAfter: o.wideAfter},
		Retention:   o.retention,
		GitInterval: o.gitInterval,
		GitAuth:     o.gitAuth,
		API:         server.Options{Listen: o.listen, Token: token, AllowedHosts: o.allowedHosts, Logger: o.logger, Pprof: o.pprof, HookSecret: hookSecret},
		Audit:       auditOpts,
		Admission:   admissionOpts,
		Shard:       shard,
		Agents:      o.agents,
		Sinks:       sinks,
		Guardrails:  configGuardrails(cfg),
		Queue:       o.queueOptions(cfg, m),
		Rollout:     rolloutGate(cfg),
		Labels:      clusterLabels(cfg),
		Pricing:     pricing(cfg),
		Metrics:     m,
		Logger:      o.logger,
		RestoreGC:   restoreGC,
	})
	if err != nil {
		return err
	}
	return s.Start(ctx)
}

// clusters connects to the current context, or to the configuration's
// clusters that a binding selects; it names the others (unbound), which
// are not contacted. The current context is a fleet of one, set up as a
// configuration's cluster is.
func (o *serveOptions) clusters(ctx context.Context, cfg *config.File, m *metrics.Metrics, dopts drift.Options) (setups []daemon.Cluster, unbound []string, err error) {
	var targets []fleet.Member
	if !isFleet(cfg) {
		if len(o.sources) == 0 && o.agents {
			return nil, nil, nil // a hub of agents' clusters only
		}
		if len(o.sources) == 0 {
			return nil, nil, fmt.Errorf("at least one --source is required (or -c with a configuration that lists clusters)")
		}
		t, err := fleet.One(o.kube, o.sources, o.values, o.set, o.releaseName, config.Remediation(o.remediation))
		if err != nil {
			return nil, nil, err
		}
		for i := range t.Sources {
			t.Sources[i].Source.Deployers = o.admission.deployers
		}
		targets = []fleet.Member{t}
	} else {
		if o.flags.Changed("remediation") {
			return nil, nil, fmt.Errorf("--remediation is for --source; with -c, set remediation on each binding in %s", cfg.Path)
		}
		if len(o.admission.deployers) > 0 {
			return nil, nil, fmt.Errorf("--admission-deployer is for --source; with -c, set deployers on each source in %s", cfg.Path)
		}
		if err := o.refuseKubeFlags(cfg); err != nil {
			return nil, nil, err
		}
		if targets, err = o.fleet.targets(cfg); err != nil {
			return nil, nil, err
		}
	}
	for _, t := range targets {
		if !t.Bound() {
			unbound = append(unbound, t.Cluster.Name)
			continue
		}
		copts := cluster.DefaultOptions()
		copts.WrapTransport = m.Transport(t.Cluster.Name)
		session, err := fleet.Open(t, fleet.SessionOptions{Cluster: copts, Drift: dopts, GitAuth: o.gitAuth, Limits: o.limits})
		if err != nil {
			if t.Flags != nil {
				return nil, nil, err
			}
			return nil, nil, fmt.Errorf("cluster %s: %w", t.Cluster.Name, err)
		}
		var paths []string
		modes := map[string]remediate.Mode{}
		deployers := map[string][]string{}
		remediates := false
		for _, b := range t.Sources {
			for _, p := range append([]string{b.Source.Path}, b.Source.Values...) {
				if !slices.Contains(paths, p) {
					paths = append(paths, p)
				}
			}
			mode, _ := remediate.ParseMode(string(b.Remediation))
			modes[b.Source.Path] = mode
			deployers[b.Source.Path] = b.Source.Deployers
			if len(b.Source.Deployers) == 0 && o.admission.mode != string(admission.ModeOff) {
				o.logger.Warn("the source names no deployers: the admission webhook lets only plumb, the exempt and break-glass change what it declares (--admission-deployer, or deployers: in the configuration)",
					"cluster", t.Cluster.Name, "source", b.Source.Name)
			}
			remediates = remediates || mode != remediate.ModeOff
		}
		versions := daemon.SourceVersions(ctx, session.Cluster, paths, o.gitAuth)
		objs, errs := session.LoadEncoded(ctx)
		daemon.ReportSourceErrors(o.logger, errs)
		setups = append(setups, daemon.Cluster{Session: session, Objs: objs, Paths: paths, Versions: versions, Deployers: drift.BySource(deployers, nil),
			Mode: remediate.ModeByPath(modes, remediate.ModeOff), Remediates: remediates})
	}
	return setups, unbound, nil
}

// queueOptions are the remediation limits: the configuration's, with the
// flags given on top.
func (o *serveOptions) queueOptions(cfg *config.File, m *metrics.Metrics) queue.Options {
	opts := queue.DefaultOptions()
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

// refuseKubeFlags refuses kubectl's --context and -n with a configuration
// that lists clusters (refuseKubeFlags), except --context with
// --lease-namespace: it names the cluster plumb runs in, where the
// Leases are.
func (o *serveOptions) refuseKubeFlags(cfg *config.File) error {
	return refuseKubeFlagsBut(o.globalOptions, cfg, o.shard.namespace != "")
}
