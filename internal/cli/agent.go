package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"plumb.dev/plumb/internal/agent"
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/daemon"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/sourcewatch"
	"plumb.dev/plumb/internal/watch"
)

type agentOptions struct {
	// serve holds the flags the agent watches its cluster with, as serve
	// does.
	serve       serveOptions
	hub         string
	tokenFile   string
	caFile      string
	clusterName string
	stateDir    string
	heartbeat   time.Duration
}

func newAgentCommand(g *globalOptions) *cobra.Command {
	o := &agentOptions{serve: serveOptions{globalOptions: g, remediation: string(remediate.ModeOff), retention: 30 * 24 * time.Hour}}
	cmd := &cobra.Command{
		Use:   "agent --hub URL --token-file FILE (--source PATH ... | -c plumb.yaml --fleet-cluster NAME)",
		Short: "Watch a cluster the hub cannot reach and send its findings to the hub",
		Long: `Watch one cluster as plumb serve does, from inside it (or from anywhere
that reaches its API server), and send its findings and their history to a
hub — plumb serve --agents — that cannot reach the cluster. The agent only
makes outbound HTTPS requests to the hub: POST /api/v1/agents/CLUSTER/observations
with its own token (--token-file), which plumb agent token CLUSTER makes on
the hub, and which the hub takes for CLUSTER only.

Every observation that changes a finding is written to an outbox in
--state-dir (fsync'd) before anything else, and sent from there in order;
the hub acknowledges what it applied. While the hub is down the outbox
grows, and once it is back the agent sends what it missed: nothing is lost,
and nothing is applied twice. The agent's own history (a SQLite store in
--state-dir) lets it restart where it left off.

The hub lists the cluster under /api/v1/clusters with "agent": true, the
status the agent last sent, and "lastSeen"; a cluster not heard from for
30 seconds is "disconnected".

Fixes asked for on the hub (POST /api/v1/agents/CLUSTER/fixes) come back
over the agent's own long-polled request; the agent applies them as plumb
fix would, under the configuration's guardrails and its own identity,
records the run in its history and reports each object's outcome. See
docs/agent.md.`,
		Example: `  plumb agent --hub https://plumb.example.com --token-file /var/run/secrets/plumb/token --source /etc/plumb/deploy --cluster-name prod-eu
  plumb agent --hub https://plumb.example.com --token-file token -c plumb.yaml --fleet-cluster prod-eu --state-dir /var/lib/plumb`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	o.serve.scanFlags.add(fs)
	fs.StringVar(&o.hub, "hub", "", "Base URL of the hub (plumb serve --agents), e.g. https://plumb.example.com")
	fs.StringVar(&o.tokenFile, "token-file", "", "File holding this agent's own token (plumb agent token CLUSTER on the hub)")
	fs.StringVar(&o.caFile, "hub-ca-file", "", "PEM file of the certificate authorities the hub's certificate is checked against (default: the system's)")
	fs.StringVar(&o.clusterName, "cluster-name", "", "The cluster's name on the hub (default: the context's name, or the configuration's cluster)")
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/plumb", "Directory of the outbox and the agent's own history; keep it on a volume that outlives the pod")
	fs.DurationVar(&o.heartbeat, "heartbeat", 10*time.Second, "Send the cluster's status this often when there is nothing else to send")
	fs.DurationVar(&o.serve.resync, "resync", 10*time.Minute, "Rescan everything this often, as a safety net")
	fs.IntVar(&o.serve.workers, "workers", 4, "Objects compared in parallel")
	fs.DurationVar(&o.serve.gitInterval, "git-interval", sourcewatch.DefaultInterval, "Read the commit of each Git source (and the revision of each Helm release source) this often")
	o.serve.flags = fs
	cmd.AddCommand(newAgentTokenCommand(g))
	return cmd
}

// isLoopbackIP says whether host is a loopback IP address.
func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type agentTokenOptions struct {
	*globalOptions
	storePath  string
	configFile string
}

// newAgentTokenCommand makes (or replaces) an agent's own credential on
// the hub.
func newAgentTokenCommand(g *globalOptions) *cobra.Command {
	o := &agentTokenOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "token CLUSTER",
		Short: "Make the token the agent of CLUSTER sends to this hub, replacing its last one",
		Long: `Make a random token for the agent that watches CLUSTER, bind it to that
cluster in the hub's store (--store, or the configuration's), and print it.
The hub keeps only its SHA-256. The agent sends it with --token-file; the
hub then takes from it observations and reports for CLUSTER only, and
refuses it for any other cluster. Running it again replaces the token: the
old one stops working at once.`,
		Example: `  plumb agent token edge-eu --store /var/lib/plumb/plumb.db > edge-eu.token
  kubectl -n plumb create secret generic plumb-agent --from-file=token=edge-eu.token`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cluster := args[0]
			if errs := validation.IsDNS1123Subdomain(cluster); len(errs) > 0 {
				return fmt.Errorf("CLUSTER %q: %s", cluster, strings.Join(errs, "; "))
			}
			var cfg *config.File
			if o.configFile != "" {
				var err error
				if cfg, err = config.Load(o.configFile); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			st, _, err := openStore(ctx, o.storePath, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			token, err := agent.NewToken()
			if err != nil {
				return err
			}
			if err := st.SetAgentToken(ctx, cluster, agent.HashToken(token), time.Now()); err != nil {
				return err
			}
			fmt.Fprintln(o.streams.Out, token)
			fmt.Fprintf(o.streams.ErrOut, "agent token for cluster %s made; its previous one, if any, no longer works\n", cluster)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.storePath, "store", "", storeFlagHelp)
	cmd.Flags().StringVarP(&o.configFile, "config", "c", "", "plumb configuration file, for its store")
	return cmd
}

func (o *agentOptions) Validate() error {
	if o.hub == "" || o.tokenFile == "" {
		return fmt.Errorf("--hub and --token-file are required")
	}
	u, err := url.Parse(o.hub)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("--hub %q: want an https:// URL", o.hub)
	}
	if host := u.Hostname(); u.Scheme == "http" && host != "localhost" && !isLoopbackIP(host) {
		return fmt.Errorf("--hub %s: the agent's token and its cluster's findings would cross the network in clear; use https:// (http:// only to a loopback hub)", o.hub)
	}
	if o.heartbeat <= 0 || o.serve.workers < 1 || o.serve.resync <= 0 {
		return fmt.Errorf("--heartbeat, --workers and --resync must be positive")
	}
	if o.serve.output != "" {
		return fmt.Errorf("agent does not print reports; the hub serves them")
	}
	if o.serve.configFile != "" && len(o.serve.fleet.clusters) != 1 {
		return fmt.Errorf("with -c, name the one cluster this agent watches: --fleet-cluster NAME")
	}
	if err := o.serve.refuseStdin("agent"); err != nil {
		return err
	}
	return o.serve.scanFlags.validate()
}

func (o *agentOptions) Run(ctx context.Context) error {
	s := &o.serve
	token, err := readToken(o.tokenFile)
	if err != nil {
		return err
	}
	client, err := hubClient(o.caFile)
	if err != nil {
		return err
	}
	cfg, err := s.loadConfig()
	if err != nil {
		return err
	}
	rules, err := s.ignoreRules(cfg)
	if err != nil {
		return err
	}
	m := metrics.New()
	clusters, _, err := s.clusters(ctx, cfg, m, s.driftOptions(s.globalOptions, rules))
	if err != nil {
		return err
	}
	if len(clusters) != 1 {
		return fmt.Errorf("the agent watches one cluster; -c %s --fleet-cluster %s selects %d with sources", s.configFile, strings.Join(s.fleet.clusters, ","), len(clusters))
	}
	if o.clusterName != "" {
		clusters[0].Rename(o.clusterName)
	}
	a, err := daemon.NewAgent(ctx, daemon.AgentOptions{
		Cluster:   clusters[0],
		Hub:       o.hub,
		Token:     token,
		Client:    client,
		StateDir:  o.stateDir,
		Heartbeat: o.heartbeat,
		Watch: watch.Options{Workers: s.workers, Resync: s.resync, Unmanaged: s.unmanaged,
			UnmanagedClusterWideAfter: s.wideAfter},
		Guardrails:  configGuardrails(cfg),
		Retention:   s.retention,
		GitInterval: s.gitInterval,
		GitAuth:     s.gitAuth,
		Metrics:     m,
		Logger:      s.logger,
	})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Start(ctx)
}

// readToken reads a bearer token from a file (--token-file).
func readToken(path string) (string, error) { return readSecretFile("--token-file", path) }

// readSecretFile reads the token a flag names, without its line end.
func readSecretFile(flag, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("%s %s is empty", flag, path)
	}
	return token, nil
}

// hubClient is the HTTP client the agent reaches the hub with: the
// system's roots, or caFile's.
func hubClient(caFile string) (*http.Client, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--hub-ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--hub-ca-file %s holds no PEM certificate", caFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.Transport = t
	return c, nil
}
