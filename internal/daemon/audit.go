package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"plumb.dev/plumb/internal/audit"
	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/watch"
	"plumb.dev/plumb/internal/webhookauth"
)

// auditHold is how long, with --audit-listen, a notification of an opened
// finding waits for the audit batch that names the users behind it: the
// batch wait docs/serve.md recommends (1 s), the API server's sending and
// plumb's re-check, with room to spare. Without the batch it goes anyway.
const auditHold = 5 * time.Second

// AuditOptions set up serve's audit receiver.
type AuditOptions struct {
	// Listen is the address.
	Listen string
	// Cert, if set, is served with TLS (required beyond loopback).
	Cert *tls.Certificate
	// Caller is how the receiver knows its callers are the API servers;
	// open only on loopback, as the cli allows.
	Caller webhookauth.Caller
}

// auditReceiver is serve's --audit-listen: one index of recent writes per
// cluster, fed by that cluster's API server through its audit webhook at
// /audit/CLUSTER (or / when serve watches one cluster).
type auditReceiver struct {
	opts    AuditOptions
	indexes map[string]*audit.Index
	mux     *http.ServeMux
	ln      net.Listener
}

// newAuditReceiver listens at once, so that a busy address stops serve
// before anything starts.
func newAuditReceiver(opts AuditOptions, logger *slog.Logger) (*auditReceiver, error) {
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("--audit-listen: %w", err)
	}
	if opts.Caller.Open() {
		logger.Warn("the audit receiver takes events from anyone who reaches it (--audit-allow-unauthenticated)", "listen", opts.Listen)
	}
	return &auditReceiver{opts: opts, indexes: map[string]*audit.Index{}, mux: http.NewServeMux(), ln: ln}, nil
}

// index makes the index of cluster name.
func (a *auditReceiver) index(name string) *audit.Index {
	ix := audit.NewIndex(audit.DefaultOptions())
	a.indexes[name] = ix
	return ix
}

// route receives cluster name's audit webhook into ix; the objects its
// writes touched are compared again by w, and so attributed. The only
// cluster also answers at /.
func (a *auditReceiver) route(name string, only bool, ix *audit.Index, w *watch.Watcher) {
	h := ix.Handler(func(o audit.Object) {
		w.Recheck(schema.GroupResource{Group: o.Group, Resource: o.Resource}, o.Namespace, o.Name)
	})
	a.mux.Handle("POST /audit/"+name, h)
	if only {
		a.mux.Handle("POST /", h)
	}
}

// attributor names, on each change of a finding of cluster c, the user of
// the write that made it (from ix): the latest write by the change's field
// manager no later than the time managedFields give the change; for a
// removed field, which no manager owns, the one person who wrote to the
// object since its deployer did (audit.Index.WhoRemoved).
func attributor(ix *audit.Index, c *cluster.Cluster) func(*drift.Finding) {
	return func(f *drift.Finding) {
		gvk := schema.FromAPIVersionAndKind(f.APIVersion, f.Kind)
		m, err := c.Mapping(gvk)
		if err != nil {
			return
		}
		obj := audit.Object{Group: gvk.Group, Resource: m.Resource.Resource, Namespace: f.Namespace, Name: f.Name}
		for i := range f.Changes {
			ch := &f.Changes[i]
			var w audit.Write
			var ok bool
			switch {
			case ch.Manager != "" && ch.Time != nil:
				w, ok = ix.Who(obj, ch.Manager, *ch.Time)
			case ch.Type == drift.ChangeRemoved && f.Deployer != "":
				w, ok = ix.WhoRemoved(obj, f.Deployer)
			}
			if ok {
				ch.User = &drift.User{Name: w.User, Groups: w.Groups, UserAgent: w.UserAgent, SourceIPs: w.SourceIPs, Candidates: w.Candidates}
			}
		}
	}
}

// Start serves until ctx ends, and prunes old writes every 10 minutes.
func (a *auditReceiver) Start(ctx context.Context) error {
	ln := a.ln
	srv := &http.Server{Handler: a.opts.Caller.Require(a.mux, "the audit receiver", nil), ReadHeaderTimeout: 10 * time.Second}
	if a.opts.Cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*a.opts.Cert}, MinVersion: tls.VersionTLS12}
		a.opts.Caller.TLS(srv.TLSConfig)
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	go func() {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = srv.Shutdown(shutdown)
				cancel()
				return
			case <-t.C:
				for _, ix := range a.indexes {
					ix.Prune()
				}
			}
		}
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("audit webhook receiver on %s: %w", ln.Addr(), err)
	}
	return nil
}
