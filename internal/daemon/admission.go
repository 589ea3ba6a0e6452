package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"plumb.dev/plumb/internal/admission"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/watch"
	"plumb.dev/plumb/internal/webhookauth"
)

// AdmissionOptions set up serve's admission webhook.
type AdmissionOptions struct {
	Mode admission.Mode
	// Listen is the address the webhook serves HTTPS on.
	Listen string
	// URL is where the API servers call it; with several clusters, each
	// one's path is appended.
	URL *url.URL
	// Exempt and BreakGlass are admission.Options' (Exempt adds to
	// admission.DefaultExempt).
	Exempt     []string
	BreakGlass []string
	// Auth is how the webhook knows its callers are the API servers.
	Auth webhookauth.Caller
}

// admissionStore keeps break-glass writes and the webhook's serving
// certificate durably.
type admissionStore interface {
	RecordBreakGlass(ctx context.Context, b *store.BreakGlass) (int64, error)
	admission.CertStore
}

// admissionWebhook is serve's admission webhook: its server, its listener
// and one registration per cluster.
type admissionWebhook struct {
	server *admission.Server
	ln     net.Listener
	certs  *admission.Certs
	regs   []*admission.Registration
}

// newAdmission prepares the webhook for the watched clusters (engines[i]
// compares watchers[i]'s objects). It listens at once, so that the address
// is known to be free before anything registers it.
func newAdmission(ctx context.Context, ao *AdmissionOptions, setups []Cluster, watchers []*watch.Watcher, engines []*drift.Engine, log admissionStore, m *metrics.Metrics, logger *slog.Logger) (*admissionWebhook, error) {
	if ao == nil || ao.Mode == admission.ModeOff {
		return nil, nil
	}
	base := ao.URL
	certs, err := admission.LoadCerts(ctx, base.Hostname(), log, logger)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", ao.Listen)
	if err != nil {
		return nil, fmt.Errorf("--admission-listen: %w", err)
	}
	opts := admission.Options{Mode: ao.Mode, BreakGlass: ao.BreakGlass, Logger: logger}
	if len(ao.Exempt) > 0 {
		opts.Exempt = append(append([]string{}, admission.DefaultExempt...), ao.Exempt...)
	}
	a := &admissionWebhook{ln: ln, certs: certs}
	var clusters []*admission.Cluster
	for i, s := range setups {
		client, err := kubernetes.NewForConfig(s.Cluster.Config)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("cluster %s: %w", s.Name(), err)
		}
		w, name, e := watchers[i], s.Name(), engines[i]
		clusters = append(clusters, &admission.Cluster{
			Name: name, Engine: e, Mapper: s.Cluster.Mapper,
			Declared: w.Target, Scaled: w.Scaled, Self: s.Cluster.Identity(ctx), Deployers: s.Deployers,
			Live: func(t drift.Target) (*unstructured.Unstructured, error) {
				ctx, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				return e.Get(ctx, t)
			},
			BreakGlass: func(b admission.BreakGlass) {
				logger.Warn("break-glass write let through", "cluster", name, "object", b.Object.String(), "user", b.User, "reason", b.Reason, "fields", strings.Join(b.Paths, ","))
				go func() {
					ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
					defer cancel()
					// The store is the record: the Event is for kubectl
					// events, and expires.
					rec := &store.BreakGlass{Time: time.Now(), Cluster: b.Cluster, APIVersion: b.APIVersion, Kind: b.Object.Kind, Namespace: b.Object.Namespace,
						Name: b.Object.Name, UID: b.UID, User: b.User, Groups: b.Groups, Reason: b.Reason, Operation: b.Operation, Paths: b.Paths, Source: b.Origin.String()}
					if _, err := log.RecordBreakGlass(ctx, rec); err != nil {
						logger.Error("cannot record a break-glass write in the store", "cluster", name, "object", b.Object.String(), "user", b.User, "err", err)
					}
					if err := admission.RecordEvent(ctx, client, b); err != nil {
						logger.Warn("cannot record the break-glass event", "cluster", name, "object", b.Object.String(), "err", err)
					}
				}()
			},
		})
		u := *base
		if len(setups) > 1 {
			u.Path = strings.TrimSuffix(u.Path, "/") + admission.Path(name)
		}
		a.regs = append(a.regs, &admission.Registration{Cluster: name, Client: client, URL: u.String(), CABundle: certs.Bundle, Targets: w.Targets, Logger: logger})
	}
	if ao.Auth.Open() {
		logger.Warn("the admission webhook takes reviews from anyone who reaches it (--admission-allow-unauthenticated): let only the API servers reach it", "listen", ao.Listen)
	}
	a.server = admission.NewServer(clusters, opts, ao.Auth, m)
	return a, nil
}

// runnables serve the webhook, renew its certificate and keep each
// cluster's registration until ctx ends.
func (a *admissionWebhook) runnables() []Runnable {
	out := []Runnable{RunnableFunc(func(ctx context.Context) error {
		if err := a.server.Run(ctx, a.ln, a.certs); err != nil {
			return fmt.Errorf("admission webhook on %s: %w", a.ln.Addr(), err)
		}
		return nil
	}), a.certs}
	for _, r := range a.regs {
		out = append(out, forever(r.Run))
	}
	return out
}
