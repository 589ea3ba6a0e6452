package shard

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Defaults of Options.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Labels and annotations on plumb's Leases.
const (
	roleLabel         = "plumb.dev/lease"
	roleCluster       = "cluster"
	roleReplica       = "replica"
	clusterAnnotation = "plumb.dev/cluster"
	statusAnnotation  = "plumb.dev/status"
	managedByLabel    = "app.kubernetes.io/managed-by"
)

// Options tune a Coordinator. Zero values take the defaults.
type Options struct {
	// Namespace holds the Leases. Required.
	Namespace string
	// Identity names this replica (default in plumb serve: the pod's name).
	// Required, unique among the replicas.
	Identity string
	// LeaseDuration is how long a Lease holds without renewal: a dead
	// replica's clusters move after about this long.
	LeaseDuration time.Duration
	// RenewDeadline is how long a replica goes on watching a cluster whose
	// Lease it cannot renew. It must be shorter than LeaseDuration.
	RenewDeadline time.Duration
	// RetryPeriod is how often Leases are renewed and the fleet looked at.
	RetryPeriod time.Duration
	// Status, if set, is this replica's status of a cluster it holds,
	// carried on the cluster's Lease for the other replicas.
	Status func(cluster string) string
	// ReleaseOnStop gives the clusters back when Run's context ends, so
	// that they move at once. Without it they move when their Leases
	// expire, as after a crash.
	ReleaseOnStop bool
	Logger        *slog.Logger
}

// Holder is what a cluster's Lease says.
type Holder struct {
	// Identity is the replica that watches the cluster; "" when none does.
	Identity string
	// Status is the holder's status of the cluster.
	Status string
	// Mine: this replica holds it.
	Mine bool
}

// Coordinator takes and gives back this replica's share of the clusters.
type Coordinator struct {
	client   kubernetes.Interface
	opts     Options
	clusters []string
	start    func(cluster string)
	stop     func(cluster string)

	mu sync.Mutex
	// held are the clusters this replica watches, with when their Lease
	// was last renewed.
	held map[string]time.Time
	// holders is what the Leases said at the last round.
	holders map[string]Holder
	// ready is set after the first round.
	ready bool
}

// New makes a Coordinator of clusters. start is called when this replica
// takes a cluster and must begin watching it; stop when it gives one back
// or may no longer hold it, and must return once it has stopped watching.
func New(client kubernetes.Interface, clusters []string, start, stop func(cluster string), opts Options) (*Coordinator, error) {
	if opts.Namespace == "" || opts.Identity == "" {
		return nil, errors.New("shard: a namespace and an identity are required")
	}
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = DefaultLeaseDuration
	}
	if opts.RenewDeadline <= 0 {
		opts.RenewDeadline = DefaultRenewDeadline
	}
	if opts.RetryPeriod <= 0 {
		opts.RetryPeriod = DefaultRetryPeriod
	}
	if opts.RenewDeadline >= opts.LeaseDuration {
		return nil, fmt.Errorf("shard: the renew deadline (%s) must be shorter than the lease duration (%s)", opts.RenewDeadline, opts.LeaseDuration)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	seen := map[string]string{}
	for _, c := range clusters {
		n := LeaseName(c)
		if other, dup := seen[n]; dup {
			return nil, fmt.Errorf("shard: clusters %q and %q would share the Lease %s", other, c, n)
		}
		seen[n] = c
	}
	return &Coordinator{client: client, opts: opts, clusters: clusters, start: start, stop: stop,
		held: map[string]time.Time{}, holders: map[string]Holder{}}, nil
}

// Run takes part until ctx ends.
func (c *Coordinator) Run(ctx context.Context) {
	t := time.NewTicker(c.opts.RetryPeriod)
	defer t.Stop()
	for {
		c.round(ctx)
		select {
		case <-ctx.Done():
			c.leave()
			return
		case <-t.C:
		}
	}
}

// Ready reports whether the first round is done: this replica knows which
// clusters are its own.
func (c *Coordinator) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready
}

// Holders says who holds each cluster, as of the last round.
func (c *Coordinator) Holders() map[string]Holder {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.holders)
}

// round renews this replica's membership, reads every Lease, and takes,
// keeps or gives back each cluster.
func (c *Coordinator) round(ctx context.Context) {
	now := time.Now()
	leases := c.client.CoordinationV1().Leases(c.opts.Namespace)
	if err := c.renewMembership(ctx, now); err != nil && ctx.Err() == nil {
		c.opts.Logger.Warn("cannot renew this replica's membership Lease", "namespace", c.opts.Namespace, "err", err)
	}
	list, err := leases.List(ctx, metav1.ListOptions{LabelSelector: roleLabel})
	if err != nil {
		if ctx.Err() == nil {
			c.opts.Logger.Warn("cannot read the Leases; clusters not renewed in time are given up", "namespace", c.opts.Namespace, "err", err)
		}
		c.dropStale(time.Now())
		return
	}
	byName := map[string]*coordinationv1.Lease{}
	var live []string
	for i := range list.Items {
		l := &list.Items[i]
		byName[l.Name] = l
		if l.Labels[roleLabel] == roleReplica && !expired(l, now) && holder(l) != "" {
			live = append(live, holder(l))
		}
	}
	if !slices.Contains(live, c.opts.Identity) {
		live = append(live, c.opts.Identity) // just renewed, or about to be
	}
	holders := map[string]Holder{}
	owners := Assign(c.clusters, live)
	for _, cl := range c.clusters {
		if ctx.Err() != nil {
			return
		}
		l := byName[LeaseName(cl)]
		holders[cl] = c.settle(ctx, cl, l, owners[cl], now)
	}
	c.dropStale(time.Now())
	c.mu.Lock()
	c.holders, c.ready = holders, true
	c.mu.Unlock()
}

// settle takes, keeps or gives back one cluster and says who holds it.
func (c *Coordinator) settle(ctx context.Context, cl string, l *coordinationv1.Lease, owner string, now time.Time) Holder {
	me := c.opts.Identity
	c.mu.Lock()
	_, mine := c.held[cl]
	c.mu.Unlock()
	free := l == nil || holder(l) == "" || expired(l, now)
	switch {
	case mine && l != nil && holder(l) != me:
		// Taken by another after this replica failed to renew in time.
		c.release(cl)
	case mine && owner != me:
		// Another live replica is meant to hold it: give it back.
		c.release(cl)
		if err := c.write(ctx, cl, l, "", now); err != nil && ctx.Err() == nil {
			c.opts.Logger.Warn("cannot give back a cluster's Lease; it expires instead", "cluster", cl, "err", err)
		}
		return Holder{}
	case mine:
		if err := c.write(ctx, cl, l, me, now); err == nil {
			c.mu.Lock()
			c.held[cl] = now
			c.mu.Unlock()
		} else if ctx.Err() == nil {
			c.opts.Logger.Warn("cannot renew a cluster's Lease", "cluster", cl, "err", err)
		}
		return Holder{Identity: me, Mine: true, Status: c.status(cl)}
	case owner == me && free:
		if err := c.write(ctx, cl, l, me, now); err != nil {
			if ctx.Err() == nil && !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
				c.opts.Logger.Warn("cannot take a cluster's Lease", "cluster", cl, "err", err)
			}
			return Holder{}
		}
		c.mu.Lock()
		c.held[cl] = now
		c.mu.Unlock()
		c.opts.Logger.Info("watching cluster", "cluster", cl, "identity", me)
		c.start(cl)
		return Holder{Identity: me, Mine: true, Status: c.status(cl)}
	}
	if free {
		return Holder{}
	}
	return Holder{Identity: holder(l), Status: l.Annotations[statusAnnotation]}
}

// write makes this replica's view of cl's Lease true: held by who ("" to
// give it back), renewed now. An existing Lease is updated at the
// resourceVersion it was read at, so that two replicas never both take it.
func (c *Coordinator) write(ctx context.Context, cl string, l *coordinationv1.Lease, who string, now time.Time) error {
	leases := c.client.CoordinationV1().Leases(c.opts.Namespace)
	secs := int32(c.opts.LeaseDuration / time.Second)
	renew := metav1.NewMicroTime(now)
	if l == nil {
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: LeaseName(cl), Namespace: c.opts.Namespace,
			Labels:      map[string]string{roleLabel: roleCluster, managedByLabel: "plumb"},
			Annotations: map[string]string{clusterAnnotation: cl}}}
		l.Spec = coordinationv1.LeaseSpec{HolderIdentity: &who, LeaseDurationSeconds: &secs, AcquireTime: &renew, RenewTime: &renew}
		c.annotate(l, cl, who)
		_, err := leases.Create(ctx, l, metav1.CreateOptions{FieldManager: "plumb"})
		return err
	}
	l = l.DeepCopy()
	if holder(l) != who {
		transitions := int32(0)
		if l.Spec.LeaseTransitions != nil {
			transitions = *l.Spec.LeaseTransitions
		}
		transitions++
		l.Spec.LeaseTransitions, l.Spec.AcquireTime = &transitions, &renew
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &who, &secs, &renew
	c.annotate(l, cl, who)
	_, err := leases.Update(ctx, l, metav1.UpdateOptions{FieldManager: "plumb"})
	return err
}

// annotate puts the holder's status of cl on its Lease.
func (c *Coordinator) annotate(l *coordinationv1.Lease, cl, who string) {
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	l.Annotations[clusterAnnotation] = cl
	if who == "" {
		delete(l.Annotations, statusAnnotation)
		return
	}
	if s := c.status(cl); s != "" {
		l.Annotations[statusAnnotation] = s
	}
}

func (c *Coordinator) status(cl string) string {
	if c.opts.Status == nil {
		return ""
	}
	return c.opts.Status(cl)
}

// renewMembership renews (or creates) this replica's membership Lease.
func (c *Coordinator) renewMembership(ctx context.Context, now time.Time) error {
	leases := c.client.CoordinationV1().Leases(c.opts.Namespace)
	name := "plumb-replica-" + dnsLabel(c.opts.Identity)
	secs := int32(c.opts.LeaseDuration / time.Second)
	renew := metav1.NewMicroTime(now)
	me := c.opts.Identity
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.opts.Namespace, Labels: map[string]string{roleLabel: roleReplica, managedByLabel: "plumb"}},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &me, LeaseDurationSeconds: &secs, AcquireTime: &renew, RenewTime: &renew},
		}, metav1.CreateOptions{FieldManager: "plumb"})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &me, &secs, &renew
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{FieldManager: "plumb"})
	return err
}

// dropStale stops watching the clusters whose Lease this replica has not
// renewed for RenewDeadline: another replica may take them once they
// expire.
func (c *Coordinator) dropStale(now time.Time) {
	c.mu.Lock()
	var stale []string
	for cl, at := range c.held {
		if now.Sub(at) > c.opts.RenewDeadline {
			stale = append(stale, cl)
		}
	}
	c.mu.Unlock()
	for _, cl := range stale {
		c.opts.Logger.Warn("a cluster's Lease was not renewed in time; no longer watching it", "cluster", cl)
		c.release(cl)
	}
}

// release stops watching cl.
func (c *Coordinator) release(cl string) {
	c.mu.Lock()
	_, mine := c.held[cl]
	delete(c.held, cl)
	c.mu.Unlock()
	if mine {
		c.stop(cl)
	}
}

// leave stops watching every cluster and, with ReleaseOnStop, gives their
// Leases and the membership back so that the others take them at once.
func (c *Coordinator) leave() {
	c.mu.Lock()
	var held []string
	for cl := range c.held {
		held = append(held, cl)
	}
	c.mu.Unlock()
	sort.Strings(held)
	for _, cl := range held {
		c.release(cl)
	}
	if !c.opts.ReleaseOnStop {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	leases := c.client.CoordinationV1().Leases(c.opts.Namespace)
	for _, cl := range held {
		if l, err := leases.Get(ctx, LeaseName(cl), metav1.GetOptions{}); err == nil && holder(l) == c.opts.Identity {
			_ = c.write(ctx, cl, l, "", time.Now())
		}
	}
	_ = leases.Delete(ctx, "plumb-replica-"+dnsLabel(c.opts.Identity), metav1.DeleteOptions{})
}

// Assign says which replica among live is meant to hold each cluster:
// rendezvous hashing with bounded loads. Each cluster ranks the replicas by
// a hash of the pair and goes to the first that holds fewer than its share
// (the clusters divided by the replicas; the remainder goes one each to the
// first replicas to fill up), clusters taken in name order. Every replica computes the same assignment from the same
// clusters and live replicas; the loads differ by one at most; and when a
// replica joins or leaves, few clusters other than its own move.
func Assign(clusters, live []string) map[string]string {
	out := make(map[string]string, len(clusters))
	if len(live) == 0 {
		return out
	}
	live = append([]string(nil), live...)
	sort.Strings(live)
	// floor clusters each, and extra of the replicas one more.
	floor, extra := len(clusters)/len(live), len(clusters)%len(live)
	load := map[string]int{}
	sorted := append([]string(nil), clusters...)
	sort.Strings(sorted)
	for _, cl := range sorted {
		ranked := append([]string(nil), live...)
		sort.SliceStable(ranked, func(i, j int) bool { return score(cl, ranked[i]) > score(cl, ranked[j]) })
		for _, r := range ranked {
			if load[r] < floor || load[r] == floor && extra > 0 {
				if load[r] == floor {
					extra--
				}
				out[cl], load[r] = r, load[r]+1
				break
			}
		}
	}
	return out
}

// score is the rendezvous hash of a cluster and a replica.
func score(cluster, replica string) uint64 {
	sum := sha256.Sum256([]byte(cluster + "\x00" + replica))
	return binary.BigEndian.Uint64(sum[:8])
}

// LeaseName is the name of cluster's Lease: plumb-cluster- and the name
// made a DNS label, with a hash when that changed it.
func LeaseName(cluster string) string { return "plumb-cluster-" + dnsLabel(cluster) }

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsLabel makes s fit in a Lease's name: lower-case letters, digits and
// dashes, at most 40 characters, with a short hash of s when it had to be
// changed, so that two names never meet.
func dnsLabel(s string) string {
	l := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if l == s && len(l) <= 40 {
		return l
	}
	sum := sha256.Sum256([]byte(s))
	if len(l) > 30 {
		l = strings.TrimRight(l[:30], "-")
	}
	return l + "-" + hex.EncodeToString(sum[:4])
}

func holder(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// expired reports whether l was last renewed more than its duration ago.
func expired(l *coordinationv1.Lease, now time.Time) bool {
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return true
	}
	return now.After(l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second))
}
