package admission

import (
	"cmp"
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"plumb.dev/plumb/internal/drift"
)

// Name names the ValidatingWebhookConfiguration plumb keeps on each cluster,
// and WebhookName its one webhook.
const (
	Name        = "plumb"
	WebhookName = "drift.plumb.dev"
)

// TimeoutSeconds is how long the API server waits for a review before it
// lets the write through (failurePolicy Ignore).
const TimeoutSeconds = 2

// Registration keeps cluster's ValidatingWebhookConfiguration named plumb as
// Configuration describes it: created when missing, put back when someone
// edits or deletes it, and its rules following the declared kinds as the
// sources change. It watches the one object, so it costs no requests while
// nothing changes.
type Registration struct {
	Cluster string
	Client  kubernetes.Interface
	// URL is where the API server sends this cluster's reviews; CABundle
	// returns the CAs of the webhook's serving certificates (Certs.Bundle:
	// it changes when the certificate is renewed).
	URL      string
	CABundle func() []byte
	// Targets returns the declared objects (a watcher's).
	Targets func() []drift.Target
	Logger  *slog.Logger
	// Poll is how often the declared kinds are looked at, in memory.
	// Default 2 seconds.
	Poll time.Duration
}

// Run keeps the configuration current until ctx ends; it is left in place
// afterwards (plumb down blocks nothing: failurePolicy Ignore).
func (r *Registration) Run(ctx context.Context) {
	if r.Poll <= 0 {
		r.Poll = 2 * time.Second
	}
	factory := informers.NewSharedInformerFactoryWithOptions(r.Client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = "metadata.name=" + Name
	}))
	inf := factory.Admissionregistration().V1().ValidatingWebhookConfigurations()
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke() },
		UpdateFunc: func(any, any) { poke() },
		DeleteFunc: func(any) { poke() },
	})
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return
	}
	t := time.NewTicker(r.Poll)
	defer t.Stop()
	var st regState
	for {
		var retry <-chan time.Time
		if err := r.reconcile(ctx, inf.Lister().Get, &st); err != nil {
			r.Logger.Warn("cannot register the admission webhook; writes are not reviewed", "cluster", r.Cluster, "err", err)
			st.backoff = min(max(2*st.backoff, time.Second), time.Minute)
			retry = time.After(st.backoff)
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				break wait
			case <-retry:
				break wait
			case <-t.C:
				// The declared kinds change only when the sources do.
				if st.last == nil || !equality.Semantic.DeepEqual(st.last.Webhooks, r.Configuration(r.Targets()).Webhooks) {
					break wait
				}
			}
		}
	}
}

// regState is what Run remembers between rounds.
type regState struct {
	// last is the configuration last found or written, and written the
	// resourceVersion of plumb's last write.
	last    *admissionregistrationv1.ValidatingWebhookConfiguration
	written string
	backoff time.Duration
}

// reconcile writes the configuration when it is missing or differs from
// what the targets need. The echo of plumb's own write is left alone even
// if the server changed something in it, so that the two never loop.
func (r *Registration) reconcile(ctx context.Context, get func(string) (*admissionregistrationv1.ValidatingWebhookConfiguration, error), st *regState) error {
	want := r.Configuration(r.Targets())
	live, err := get(Name)
	if apierrors.IsNotFound(err) {
		live = nil
	} else if err != nil {
		return err
	}
	if live != nil && (Current(live, want) || live.ResourceVersion == st.written && equality.Semantic.DeepEqual(st.last.Webhooks, want.Webhooks)) {
		st.last, st.backoff = want, 0
		return nil
	}
	w, err := r.write(ctx, live, want)
	if apierrors.IsAlreadyExists(err) {
		return nil // created since the informer last heard; its event brings it
	}
	if err != nil {
		return err
	}
	st.last, st.written, st.backoff = want, w.ResourceVersion, 0
	r.Logger.Info("admission webhook registered", "cluster", r.Cluster, "rules", len(want.Webhooks[0].Rules))
	return nil
}

func (r *Registration) write(ctx context.Context, live, want *admissionregistrationv1.ValidatingWebhookConfiguration) (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	api := r.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	opts := metav1.CreateOptions{FieldManager: drift.DefaultManager}
	if live == nil {
		return api.Create(ctx, want, opts)
	}
	next := live.DeepCopy()
	next.Webhooks = want.Webhooks
	if next.Labels == nil {
		next.Labels = map[string]string{}
	}
	for k, v := range want.Labels {
		next.Labels[k] = v
	}
	return api.Update(ctx, next, metav1.UpdateOptions{FieldManager: drift.DefaultManager})
}

// Current reports whether live is registered as want says.
func Current(live, want *admissionregistrationv1.ValidatingWebhookConfiguration) bool {
	return live != nil && equality.Semantic.DeepEqual(live.Webhooks, want.Webhooks)
}

// Configuration is the webhook configuration for targets: UPDATE and
// DELETE of each declared resource (and its scale subresource), in the
// namespaces that hold declared objects, sent to URL; failurePolicy Ignore
// and a short timeout, so that plumb being down never blocks a write.
// Every field the API server would default is set, so that what it stores
// compares equal to what was written.
func (r *Registration) Configuration(targets []drift.Target) *admissionregistrationv1.ValidatingWebhookConfiguration {
	byGV := map[schema.GroupVersion][]string{}
	nsSet := map[string]bool{}
	for _, t := range targets {
		res := t.Resource()
		gv := res.GroupVersion()
		if !slices.Contains(byGV[gv], res.Resource) {
			byGV[gv] = append(byGV[gv], res.Resource)
		}
		if t.Namespaced() {
			nsSet[t.Namespace()] = true
		} else if k := t.Key(); k.Group == "" && k.Kind == "Namespace" {
			nsSet[k.Name] = true
		}
	}
	gvs := make([]schema.GroupVersion, 0, len(byGV))
	for gv := range byGV {
		gvs = append(gvs, gv)
	}
	slices.SortFunc(gvs, func(a, b schema.GroupVersion) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Version, b.Version))
	})
	scope := admissionregistrationv1.AllScopes
	rules := []admissionregistrationv1.RuleWithOperations{}
	for _, gv := range gvs {
		var resources []string
		for _, res := range slices.Sorted(slices.Values(byGV[gv])) {
			resources = append(resources, res, res+"/scale")
		}
		rules = append(rules, admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update, admissionregistrationv1.Delete},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{gv.Group}, APIVersions: []string{gv.Version}, Resources: resources, Scope: &scope},
		})
	}
	nsSelector := &metav1.LabelSelector{}
	if len(nsSet) > 0 {
		nsSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: slices.Sorted(maps.Keys(nsSet)),
		}}
	}
	ignore := admissionregistrationv1.Ignore
	equivalent := admissionregistrationv1.Equivalent
	sideEffects := admissionregistrationv1.SideEffectClassNoneOnDryRun
	timeout := int32(TimeoutSeconds)
	url := r.URL
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: map[string]string{"app.kubernetes.io/managed-by": "plumb"}},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    WebhookName,
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: r.CABundle()},
			Rules:                   rules,
			FailurePolicy:           &ignore,
			MatchPolicy:             &equivalent,
			NamespaceSelector:       nsSelector,
			ObjectSelector:          &metav1.LabelSelector{},
			SideEffects:             &sideEffects,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
}
