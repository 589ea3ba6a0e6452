package audit

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// Write is one successful write to an object, as the audit log saw it.
type Write struct {
	Group       string `json:"group,omitempty"`
	Resource    string `json:"resource"`
	Subresource string `json:"subresource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name"`
	Verb        string `json:"verb"`
	// Manager is the field manager the request wrote as: its fieldManager
	// parameter, else what the server derives from the user agent
	// ("kubectl/v1.37.2 (…)" writes as "kubectl").
	Manager   string    `json:"manager"`
	User      string    `json:"user"`
	Groups    []string  `json:"groups,omitempty"`
	UserAgent string    `json:"userAgent,omitempty"`
	SourceIPs []string  `json:"sourceIPs,omitempty"`
	Time      time.Time `json:"time"`
	// Candidates, set by Who, are the users who wrote with the same
	// manager when they were more than one: the write cannot be pinned on
	// one of them, and User is empty.
	Candidates []string `json:"candidates,omitempty"`
}

// Object names an object the way audit events do: by resource, not kind.
type Object struct {
	Group, Resource, Namespace, Name string
}

// Options bound what the index keeps, whoever sends it events.
type Options struct {
	// MaxPerObject is how many recent writes are kept per object.
	// Default 16.
	MaxPerObject int
	// MaxWrites is how many writes are kept in all; past it the oldest
	// recorded go first. Default 100,000 (about 56 MiB of heap when full).
	MaxWrites int
	// MaxAge is how long a write is kept. Default 24 hours. An event older
	// than that, or stamped more than MaxSkew in the future, is not kept.
	MaxAge time.Duration
	// MaxSkew is how far in the future an event's time may be (the API
	// server's clock against plumb's). Default 1 minute.
	MaxSkew time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{MaxPerObject: 16, MaxWrites: 100_000, MaxAge: 24 * time.Hour, MaxSkew: time.Minute, Now: time.Now}
}

// Index keeps recent writes per object.
type Index struct {
	opts Options
	mu   sync.Mutex
	// writes, guarded by mu, holds each object's writes, oldest first;
	// count is how many there are in all.
	writes map[Object][]Write
	count  int
	// order, guarded by mu, is the object of each write in the order they
	// were recorded, to drop the oldest past MaxWrites; an entry may name
	// a write already dropped (per object, or by Prune).
	order []Object
}

// NewIndex returns an empty index.
func NewIndex(opts Options) *Index {
	def := DefaultOptions()
	if opts.MaxPerObject <= 0 {
		opts.MaxPerObject = def.MaxPerObject
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = def.MaxAge
	}
	if opts.MaxWrites <= 0 {
		opts.MaxWrites = def.MaxWrites
	}
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = def.MaxSkew
	}
	if opts.Now == nil {
		opts.Now = def.Now
	}
	return &Index{opts: opts, writes: map[Object][]Write{}}
}

// writeVerbs are the verbs that change an object.
var writeVerbs = map[string]bool{"create": true, "update": true, "patch": true, "delete": true}

// Record keeps e if it is a completed, successful write to an object (not
// a dry-run), and returns that object and whether it did.
func (ix *Index) Record(e auditv1.Event) (Object, bool) {
	if e.Stage != auditv1.StageResponseComplete || !writeVerbs[e.Verb] || e.ObjectRef == nil || e.ObjectRef.Name == "" {
		return Object{}, false
	}
	if e.ResponseStatus != nil && e.ResponseStatus.Code >= 300 || dryRun(e.RequestURI) {
		return Object{}, false
	}
	// A write is dated when its request arrived: the server sets the
	// managedFields time it is matched with while handling it, before the
	// response completes (after the webhooks and the storage write), so
	// the completion time can fall in the next second.
	at := e.RequestReceivedTimestamp.Time
	if at.IsZero() {
		at = e.StageTimestamp.Time
	}
	if now := ix.opts.Now(); at.After(now.Add(ix.opts.MaxSkew)) || at.Before(now.Add(-ix.opts.MaxAge)) {
		return Object{}, false // a forged or stale time would outlive or outrank real writes
	}
	ref := e.ObjectRef
	w := Write{Group: ref.APIGroup, Resource: ref.Resource, Subresource: ref.Subresource, Namespace: ref.Namespace, Name: ref.Name,
		Verb: e.Verb, Manager: manager(e.RequestURI, e.UserAgent), User: e.User.Username, Groups: e.User.Groups,
		UserAgent: e.UserAgent, SourceIPs: e.SourceIPs, Time: at}
	key := Object{Group: ref.APIGroup, Resource: ref.Resource, Namespace: ref.Namespace, Name: ref.Name}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ws := append(ix.writes[key], w)
	ix.count++
	if len(ws) > ix.opts.MaxPerObject {
		ix.count -= len(ws) - ix.opts.MaxPerObject
		ws = append([]Write(nil), ws[len(ws)-ix.opts.MaxPerObject:]...)
	}
	ix.writes[key] = ws
	ix.order = append(ix.order, key)
	for ix.count > ix.opts.MaxWrites && len(ix.order) > 0 {
		ix.dropOldest()
	}
	if len(ix.order) > 2*ix.opts.MaxWrites {
		ix.order = append([]Object(nil), ix.order[len(ix.order)-ix.opts.MaxWrites:]...)
	}
	return key, true
}

// dropOldest drops the oldest write of the object recorded longest ago.
// Callers hold mu.
func (ix *Index) dropOldest() {
	key := ix.order[0]
	ix.order = ix.order[1:]
	ws := ix.writes[key]
	if len(ws) == 0 {
		return // dropped already
	}
	ix.count--
	if len(ws) == 1 {
		delete(ix.writes, key)
		return
	}
	ix.writes[key] = ws[1:]
}

// Len is how many writes the index keeps.
func (ix *Index) Len() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.count
}

// dryRun reports whether a request only pretended to write (plumb's own
// comparisons are server-side dry-runs as the deployer's manager).
func dryRun(requestURI string) bool {
	u, err := url.Parse(requestURI)
	return err == nil && u.Query().Get("dryRun") != ""
}

// manager is the field manager a request wrote as: the fieldManager query
// parameter, else the user agent's name before its first "/", as the API
// server derives it.
func manager(requestURI, userAgent string) string {
	if u, err := url.Parse(requestURI); err == nil {
		if m := u.Query().Get("fieldManager"); m != "" {
			return m
		}
	}
	name, _, _ := strings.Cut(userAgent, "/")
	return name
}

// Who returns the latest write to obj by field manager mgr made no later
// than at (a managedFields time, which has whole seconds) allows; mgr ""
// matches any manager. A field manager's time is that of its last change
// to any of its fields, so when several users wrote with mgr since plumb
// last wrote the object, the write cannot be pinned on one of them: the
// Write returned has no User and names them all in Candidates.
func (ix *Index) Who(obj Object, mgr string, at time.Time) (Write, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ws := ix.writes[obj]
	limit := at.Truncate(time.Second).Add(time.Second)
	var found Write
	ok := false
	var users []string
	for i := len(ws) - 1; i >= 0; i-- {
		w := ws[i]
		if strings.HasPrefix(w.Manager, "plumb") && ok {
			break // plumb put fields back: earlier writes are not this change's
		}
		if (mgr == "" || w.Manager == mgr) && w.Time.Before(limit) {
			if !ok {
				found, ok = w, true
			}
			if !slices.Contains(users, w.User) {
				users = append(users, w.User)
			}
		}
	}
	if len(users) > 1 {
		slices.Sort(users)
		found.User, found.Groups, found.Candidates = "", nil, users
	}
	return found, ok
}

// WhoRemoved names who removed a declared field from obj, which
// managedFields cannot tell (nobody owns a field that is gone): the person
// behind the writes to obj since the deployer's last one, when they are
// all one user's. Writes by the deployer, by plumb (managers "plumb…") and
// by the control plane's controllers (kube-system service accounts, which
// keep annotating objects) are not candidates; with none left, or more
// than one user among them, it names nobody rather than the wrong person.
func (ix *Index) WhoRemoved(obj Object, deployer string) (Write, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ws := ix.writes[obj]
	var found Write
	for i := len(ws) - 1; i >= 0; i-- {
		w := ws[i]
		if w.Manager == deployer {
			break
		}
		if strings.HasPrefix(w.Manager, "plumb") || strings.HasPrefix(w.User, "system:serviceaccount:kube-system:") || w.Verb == "create" {
			continue
		}
		if found.User != "" && found.User != w.User {
			return Write{}, false
		}
		if found.User == "" {
			found = w
		}
	}
	return found, found.User != ""
}

// Prune forgets writes older than MaxAge.
func (ix *Index) Prune() {
	cutoff := ix.opts.Now().Add(-ix.opts.MaxAge)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for k, ws := range ix.writes {
		i := 0
		for i < len(ws) && ws[i].Time.Before(cutoff) {
			i++
		}
		ix.count -= i
		if i == len(ws) {
			delete(ix.writes, k)
		} else if i > 0 {
			ix.writes[k] = append([]Write(nil), ws[i:]...)
		}
	}
}

// Handler receives the audit webhook's POSTs of an EventList. The object
// of each recorded write is handed to onWrite, if set (to compare it again
// and attribute the change). Bodies larger than 16 MiB are refused.
func (ix *Index) Handler(onWrite func(Object)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST an audit.k8s.io/v1 EventList", http.StatusMethodNotAllowed)
			return
		}
		var list auditv1.EventList
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20)).Decode(&list); err != nil {
			http.Error(w, "not an audit.k8s.io/v1 EventList: "+err.Error(), http.StatusBadRequest)
			return
		}
		for _, e := range list.Items {
			if obj, ok := ix.Record(e); ok && onWrite != nil {
				onWrite(obj)
			}
		}
		w.WriteHeader(http.StatusOK)
	})
}
