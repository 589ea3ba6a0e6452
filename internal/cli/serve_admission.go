package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"plumb.dev/plumb/internal/admission"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/watch"
)

// admissionFlags are serve's --admission flags.
type admissionFlags struct {
	mode          string
	listen        string
	url           string
	allowManagers []string
	exempt        []string
}

func (a *admissionFlags) validate() error {
	mode, ok := admission.ParseMode(a.mode)
	if !ok {
		return fmt.Errorf("--admission %q: want off, warn or enforce", a.mode)
	}
	if mode == admission.ModeOff {
		return nil
	}
	if a.listen == "" {
		return fmt.Errorf("--admission %s needs --admission-listen, the address the webhook serves on", mode)
	}
	_, err := a.baseURL()
	return err
}

// baseURL is how the API servers reach the webhook: --admission-url, else
// https:// and the --admission-listen address when it names a host.
func (a *admissionFlags) baseURL() (*url.URL, error) {
	raw := a.url
	if raw == "" {
		host, _, err := net.SplitHostPort(a.listen)
		if err != nil {
			return nil, fmt.Errorf("--admission-listen %q: %w", a.listen, err)
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			return nil, fmt.Errorf("--admission-listen %s names no host the API server can reach: give --admission-url (https://plumb.plumb-system.svc:9443, say)", a.listen)
		}
		raw = "https://" + a.listen
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--admission-url %q: want https://HOST[:PORT][/PATH], as the API server must call it over TLS", raw)
	}
	return u, nil
}

// admissionWebhook is serve's admission webhook: its server, its listener
// and one registration per cluster.
type admissionWebhook struct {
	server *admission.Server
	ln     net.Listener
	cert   tls.Certificate
	regs   []*admission.Registration
}

// newAdmission prepares the webhook for the watched clusters (engines[i]
// compares watchers[i]'s objects). It listens at once, so that the address
// is known to be free before anything registers it.
func (o *serveOptions) newAdmission(ctx context.Context, setups []clusterSetup, watchers []*watch.Watcher, engines []*drift.Engine, m *metrics.Metrics) (*admissionWebhook, error) {
	mode, _ := admission.ParseMode(o.admission.mode)
	if mode == admission.ModeOff {
		return nil, nil
	}
	base, _ := o.admission.baseURL()
	cert, ca, err := admission.Certificate(base.Hostname())
	if err != nil {
		return nil, fmt.Errorf("admission serving certificate: %w", err)
	}
	ln, err := net.Listen("tcp", o.admission.listen)
	if err != nil {
		return nil, fmt.Errorf("--admission-listen: %w", err)
	}
	opts := admission.Options{Mode: mode, AllowManagers: o.admission.allowManagers, Logger: o.logger}
	if len(o.admission.exempt) > 0 {
		opts.Exempt = append(append([]string{}, admission.DefaultExempt...), o.admission.exempt...)
	}
	a := &admissionWebhook{ln: ln, cert: cert}
	var clusters []*admission.Cluster
	for i, s := range setups {
		client, err := kubernetes.NewForConfig(s.cluster.Config)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("cluster %s: %w", s.name, err)
		}
		w, name, e := watchers[i], s.name, engines[i]
		clusters = append(clusters, &admission.Cluster{
			Name: name, Engine: e, Mapper: s.cluster.Mapper,
			Declared: w.Target, Scaled: w.Scaled, Self: s.cluster.Identity(ctx),
			Live: func(t drift.Target) (*unstructured.Unstructured, error) {
				ctx, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				return e.Get(ctx, t)
			},
			BreakGlass: func(b admission.BreakGlass) {
				o.logger.Warn("break-glass write let through", "cluster", name, "object", b.Object.String(), "user", b.User, "reason", b.Reason, "fields", strings.Join(b.Paths, ","))
				go func() {
					ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
					defer cancel()
					if err := admission.RecordEvent(ctx, client, b); err != nil {
						o.logger.Warn("cannot record the break-glass event", "cluster", name, "object", b.Object.String(), "err", err)
					}
				}()
			},
		})
		u := *base
		if len(setups) > 1 {
			u.Path = strings.TrimSuffix(u.Path, "/") + admission.Path(name)
		}
		a.regs = append(a.regs, &admission.Registration{Cluster: name, Client: client, URL: u.String(), CABundle: ca, Targets: w.Targets, Logger: o.logger})
	}
	a.server = admission.NewServer(clusters, opts, m)
	return a, nil
}

// start serves and registers the webhook until ctx ends.
func (a *admissionWebhook) start(ctx context.Context, wg *sync.WaitGroup, o *serveOptions) {
	wg.Add(1 + len(a.regs))
	go func() {
		defer wg.Done()
		if err := a.server.Run(ctx, a.ln, a.cert); err != nil {
			o.logger.Error("admission webhook stopped", "listen", o.admission.listen, "err", err)
		}
	}()
	for _, r := range a.regs {
		go func() { defer wg.Done(); r.Run(ctx) }()
	}
}
