package audit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"plumb.dev/plumb/internal/testcluster"
)

// TestWhoAgainstARealAPIServer starts a kube-apiserver that sends its
// audit events to the index, makes the changes people make with kubectl,
// and finds each change's user from the field manager and time that the
// object's managedFields record, as drift attribution will.
func TestWhoAgainstARealAPIServer(t *testing.T) {
	ix := NewIndex(DefaultOptions())
	var mu sync.Mutex
	var written []Object
	srv := httptest.NewServer(ix.Handler(func(o Object) { mu.Lock(); written = append(written, o); mu.Unlock() }))
	defer srv.Close()
	dir := t.TempDir()
	policy, hook := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "webhook.kubeconfig")
	// The policy plumb's docs recommend: metadata of writes, nothing else.
	if err := os.WriteFile(policy, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n  verbs: [create, update, patch, delete]\n- level: None\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hook, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: plumb, cluster: {server: \""+srv.URL+"\"}}]\ncontexts: [{name: plumb, context: {cluster: plumb}}]\ncurrent-context: plumb\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := testcluster.StartWith(testcluster.Options{APIServerFlags: map[string]string{
		"audit-policy-file": policy, "audit-webhook-config-file": hook, "audit-webhook-batch-max-wait": "100ms",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("create", "configmap", "settings", "--from-literal=mode=fast")
	k("patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	k("label", "configmap", "settings", "team=checkout")
	me := env.Kubectl(t, "", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")

	obj := Object{Resource: "configmaps", Namespace: ns, Name: "settings"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := ix.Who(obj, "kubectl-label", time.Now()); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the label's audit event did not arrive within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var live struct {
		Metadata struct{ ManagedFields []metav1.ManagedFieldsEntry }
	}
	if err := json.Unmarshal([]byte(k("get", "configmap", "settings", "-o", "json", "--show-managed-fields")), &live); err != nil {
		t.Fatal(err)
	}
	for _, mf := range live.Metadata.ManagedFields {
		w, ok := ix.Who(obj, mf.Manager, mf.Time.Time)
		if !ok || w.User != me || !strings.HasPrefix(w.UserAgent, "kubectl/") || len(w.SourceIPs) == 0 {
			t.Errorf("manager %s at %s: %+v, %v; want a write by %s from kubectl", mf.Manager, mf.Time, w, ok, me)
			continue
		}
		wantVerb := map[string]string{"kubectl-create": "create", "kubectl-patch": "patch", "kubectl-label": "patch"}[mf.Manager]
		if w.Verb != wantVerb {
			t.Errorf("manager %s: verb %s, want %s", mf.Manager, w.Verb, wantVerb)
		}
	}
	if len(live.Metadata.ManagedFields) != 3 {
		t.Errorf("managedFields has %d entries, want kubectl-create, kubectl-patch and kubectl-label", len(live.Metadata.ManagedFields))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(written) < 3 {
		t.Errorf("onWrite heard of %d writes, want the 3", len(written))
	}
}

func TestRecordKeepsOnlySuccessfulWrites(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	ix := NewIndex(Options{MaxPerObject: 2, MaxAge: time.Hour, Now: func() time.Time { return now }})
	ev := func(verb string, code int32, stage auditv1.Stage, at time.Time, uri string) auditv1.Event {
		return auditv1.Event{Verb: verb, Stage: stage, RequestURI: uri, UserAgent: "kubectl/v1.37.2 (linux/amd64)",
			ObjectRef:      &auditv1.ObjectReference{Resource: "configmaps", Namespace: "shop", Name: "settings"},
			ResponseStatus: &metav1.Status{Code: code}, StageTimestamp: metav1.NewMicroTime(at)}
	}
	for _, tt := range []struct {
		e    auditv1.Event
		kept bool
	}{
		{ev("get", 200, auditv1.StageResponseComplete, now, "/api/v1/namespaces/shop/configmaps/settings"), false},
		{ev("patch", 409, auditv1.StageResponseComplete, now, "/api/v1/namespaces/shop/configmaps/settings"), false},
		{ev("patch", 200, auditv1.StageRequestReceived, now, "/api/v1/namespaces/shop/configmaps/settings"), false},
		{ev("patch", 200, auditv1.StageResponseComplete, now.Add(-2*time.Hour), "/api/v1/namespaces/shop/configmaps/settings?fieldManager=stale"), false},
		{ev("patch", 200, auditv1.StageResponseComplete, now.Add(2*time.Minute), "/api/v1/namespaces/shop/configmaps/settings?fieldManager=future"), false},
		{ev("patch", 200, auditv1.StageResponseComplete, now.Add(-30*time.Minute), "/api/v1/namespaces/shop/configmaps/settings?fieldManager=old"), true},
		{ev("update", 200, auditv1.StageResponseComplete, now.Add(-time.Minute), "/api/v1/namespaces/shop/configmaps/settings"), true},
		{ev("patch", 200, auditv1.StageResponseComplete, now, "/api/v1/namespaces/shop/configmaps/settings?fieldManager=kubectl-patch"), true},
	} {
		if _, got := ix.Record(tt.e); got != tt.kept {
			t.Errorf("%s %d %s: kept %v, want %v", tt.e.Verb, tt.e.ResponseStatus.Code, tt.e.Stage, got, tt.kept)
		}
	}
	obj := Object{Resource: "configmaps", Namespace: "shop", Name: "settings"}
	if _, ok := ix.Who(obj, "old", now); ok {
		t.Error("the oldest write is still kept beyond MaxPerObject")
	}
	if w, ok := ix.Who(obj, "kubectl", now); !ok || w.Verb != "update" {
		t.Errorf("manager from the user agent: %+v, %v", w, ok)
	}
	if _, ok := ix.Who(obj, "kubectl-patch", now.Add(-time.Minute)); ok {
		t.Error("a write after the change's time was attributed to it")
	}
	now = now.Add(59*time.Minute + 30*time.Second)
	ix.Prune()
	if _, ok := ix.Who(obj, "kubectl", now); ok {
		t.Error("a write older than MaxAge survived Prune")
	}
	if _, ok := ix.Who(obj, "kubectl-patch", now); !ok {
		t.Error("Prune dropped a recent write")
	}
	rec := httptest.NewRecorder()
	ix.Handler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{not json")))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("a bad body: %d, want 400", rec.Code)
	}
}

// TestWhoRemoved: the one person who wrote to an object since its deployer
// is named; controllers, plumb and creates are no candidates; two people,
// or nobody, name no one.
func TestWhoRemoved(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	w := func(sec int, manager, user, verb string) auditv1.Event {
		return auditv1.Event{Stage: auditv1.StageResponseComplete, Verb: verb,
			ObjectRef:      &auditv1.ObjectReference{Resource: "configmaps", Namespace: "shop", Name: "settings"},
			RequestURI:     "/api/v1/namespaces/shop/configmaps/settings?fieldManager=" + manager,
			User:           authenticationv1.UserInfo{Username: user},
			StageTimestamp: metav1.NewMicroTime(at.Add(time.Duration(sec) * time.Second))}
	}
	dry := func(e auditv1.Event) auditv1.Event { e.RequestURI += "&dryRun=All"; return e }
	obj := Object{Resource: "configmaps", Namespace: "shop", Name: "settings"}
	for _, tc := range []struct {
		name   string
		events []auditv1.Event
		want   string
	}{
		{"one person after the deployer", []auditv1.Event{
			w(0, "gitops", "system:serviceaccount:flux:kustomize", "create"), w(1, "gitops", "system:serviceaccount:flux:kustomize", "patch"),
			w(2, "kubectl-label", "jane", "patch"), w(3, "deployment-controller", "system:serviceaccount:kube-system:deployment-controller", "update"),
			w(4, "plumb", "system:serviceaccount:plumb:plumb", "patch")}, "jane"},
		{"the deployer's dry-runs (plumb comparing) are no writes", []auditv1.Event{
			w(1, "gitops", "flux", "patch"), w(2, "kubectl-label", "jane", "patch"), dry(w(3, "gitops", "plumb-bot", "patch"))}, "jane"},
		{"only writes before the deployer's last", []auditv1.Event{
			w(1, "kubectl-label", "jane", "patch"), w(2, "gitops", "system:serviceaccount:flux:kustomize", "patch")}, ""},
		{"two people", []auditv1.Event{
			w(1, "gitops", "flux", "patch"), w(2, "kubectl-label", "jane", "patch"), w(3, "kubectl-edit", "joe", "update")}, ""},
		{"nobody but the creator", []auditv1.Event{w(1, "kubectl-create", "jane", "create")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := NewIndex(Options{Now: func() time.Time { return at.Add(time.Minute) }})
			for _, e := range tc.events {
				ix.Record(e)
			}
			got, ok := ix.WhoRemoved(obj, "gitops")
			if got.User != tc.want || ok != (tc.want != "") {
				t.Errorf("WhoRemoved = %q, %v; want %q", got.User, ok, tc.want)
			}
		})
	}
}

// TestIndexIsBounded: whoever posts events, the index keeps at most
// MaxWrites writes, the newest, and nothing stamped in the future.
func TestIndexIsBounded(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	ix := NewIndex(Options{MaxWrites: 100, Now: func() time.Time { return now }})
	for i := range 1000 {
		ix.Record(forged(i, now))
	}
	if n := ix.Len(); n != 100 {
		t.Errorf("%d writes kept, want MaxWrites (100)", n)
	}
	if _, ok := ix.Who(Object{Resource: "configmaps", Namespace: "shop", Name: "cm-999"}, "", now); !ok {
		t.Error("the newest write was dropped")
	}
	if _, ok := ix.Who(Object{Resource: "configmaps", Namespace: "shop", Name: "cm-0"}, "", now); ok {
		t.Error("the oldest write was kept past MaxWrites")
	}
	if _, ok := ix.Record(forged(1, now.Add(time.Hour))); ok {
		t.Error("an event stamped an hour ahead was kept")
	}
}

// forged is a write event to ConfigMap cm-i at at, as anyone could post.
func forged(i int, at time.Time) auditv1.Event {
	return auditv1.Event{Stage: auditv1.StageResponseComplete, Verb: "patch", UserAgent: "kubectl/v1.37.2",
		ObjectRef:      &auditv1.ObjectReference{Resource: "configmaps", Namespace: "shop", Name: fmt.Sprintf("cm-%d", i)},
		User:           authenticationv1.UserInfo{Username: "ceo@example.com"},
		StageTimestamp: metav1.NewMicroTime(at)}
}

// TestWhoIsAmbiguousBetweenUsersOfOneManager: kubectl's time in
// managedFields is its last change to any of its fields, so when two
// people both wrote with kubectl the change is pinned on neither; once
// plumb has put the object back, only the writes after it count.
func TestWhoIsAmbiguousBetweenUsersOfOneManager(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	ix := NewIndex(Options{Now: func() time.Time { return at.Add(time.Hour) }})
	write := func(sec int, manager, user string) {
		ix.Record(auditv1.Event{Stage: auditv1.StageResponseComplete, Verb: "patch",
			ObjectRef:      &auditv1.ObjectReference{Resource: "configmaps", Namespace: "shop", Name: "settings"},
			RequestURI:     "/api/v1/namespaces/shop/configmaps/settings?fieldManager=" + manager,
			User:           authenticationv1.UserInfo{Username: user},
			StageTimestamp: metav1.NewMicroTime(at.Add(time.Duration(sec) * time.Second))})
	}
	obj := Object{Resource: "configmaps", Namespace: "shop", Name: "settings"}
	write(1, "kubectl", "alice")
	write(5, "kubectl", "bob")
	if w, ok := ix.Who(obj, "kubectl", at.Add(5*time.Second)); !ok || w.User != "" || !slices.Equal(w.Candidates, []string{"alice", "bob"}) {
		t.Errorf("two users of kubectl: %+v, %v; want no user, candidates alice and bob", w, ok)
	}
	write(7, "plumb", "system:serviceaccount:plumb:plumb")
	write(9, "kubectl", "alice")
	if w, ok := ix.Who(obj, "kubectl", at.Add(9*time.Second)); !ok || w.User != "alice" || len(w.Candidates) != 0 {
		t.Errorf("alice after plumb's fix: %+v, %v; want alice", w, ok)
	}
}

// BenchmarkForgedFlood posts a million forged events for distinct objects
// and reports what the index holds afterwards: bounded by MaxWrites.
func BenchmarkForgedFlood(b *testing.B) {
	now := time.Now()
	for b.Loop() {
		ix := NewIndex(DefaultOptions())
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range 1_000_000 {
			ix.Record(forged(i, now))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(ix.Len()), "writes-kept")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
	}
}

// TestWhoDatesAWriteByItsRequest: managedFields take the time a request
// is handled, before its response completes (after webhooks and storage),
// which may be in the next second; the write is still matched.
func TestWhoDatesAWriteByItsRequest(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 900_000_000, time.UTC)
	ix := NewIndex(Options{Now: func() time.Time { return at.Add(time.Minute) }})
	ix.Record(auditv1.Event{Stage: auditv1.StageResponseComplete, Verb: "patch",
		ObjectRef:                &auditv1.ObjectReference{APIGroup: "apps", Resource: "deployments", Namespace: "shop", Name: "web"},
		RequestURI:               "/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=kubectl-patch",
		User:                     authenticationv1.UserInfo{Username: "carol"},
		RequestReceivedTimestamp: metav1.NewMicroTime(at),
		StageTimestamp:           metav1.NewMicroTime(at.Add(300 * time.Millisecond))})
	managedFieldsTime := at.Truncate(time.Second) // what the object records
	if w, ok := ix.Who(Object{Group: "apps", Resource: "deployments", Namespace: "shop", Name: "web"}, "kubectl-patch", managedFieldsTime); !ok || w.User != "carol" {
		t.Errorf("a write whose response completed in the next second: %+v, %v; want carol", w, ok)
	}
}
