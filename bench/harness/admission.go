package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"plumb.dev/plumb/internal/testcluster"
)

// runAdmission measures serve's admission webhook with the first of sizes
// declared objects, each measure rate requests a second for d: PATCH
// latency through the API server of an undeclared label with plumb serve
// running without and with --admission enforce (the baseline and what the
// webhook adds to an allowed write), of a declared field with it (denied);
// the webhook's own latency, from AdmissionReviews of live objects sent
// straight to it over TLS (half denied); and plumb serve's memory without
// and with admission.
func runAdmission(plumb, sizes string, rate int, d time.Duration) error {
	// The API server presents a token to the webhook (its
	// AdmissionConfiguration), as docs/security.md sets it up.
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	creds, err := os.MkdirTemp("", "plumb-bench-admission-auth-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(creds)
	const token = "bench-admission-token"
	config, tokenFile := filepath.Join(creds, "admission.yaml"), filepath.Join(creds, "token")
	for path, content := range map[string]string{
		filepath.Join(creds, "webhook.kubeconfig"): fmt.Sprintf("apiVersion: v1\nkind: Config\nusers:\n- name: %q\n  user: {token: %q}\n", addr, token),
		config: fmt.Sprintf("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: ValidatingAdmissionWebhook\n  configuration:\n"+
			"    apiVersion: apiserver.config.k8s.io/v1\n    kind: WebhookAdmissionConfiguration\n    kubeConfigFile: %q\n", filepath.Join(creds, "webhook.kubeconfig")),
		tokenFile: token + "\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return err
		}
	}
	b, err := startWith(plumb, "admission", sizes, testcluster.Options{APIServerFlags: map[string]string{"admission-control-config-file": config}})
	if err != nil {
		return err
	}
	defer b.stop()
	n := b.sizes[0]
	ns := serveNamespace(n)
	file, err := seed(b.env, b.work, ns, n)
	if err != nil {
		return err
	}
	// A person, not plumb: writes by plumb's own identity are exempt.
	person := rest.CopyConfig(b.env.Config)
	person.Impersonate = rest.ImpersonationConfig{UserName: "bench-person", Groups: []string{"system:masters"}}
	person.QPS, person.Burst = float32(4*rate), 4*rate
	client, err := kubernetes.NewForConfig(person)
	if err != nil {
		return err
	}

	plain, err := startServe(b.plumb, b.env.Kubeconfig, ns, file, filepath.Join(b.work, "plain.db"))
	if err != nil {
		return err
	}
	plainRSS, plainHeap := rss(plain.pid()), heapInuse(plain.base)
	without, err := paced(rate, d, patcher(client, ns, "plain", false, nil))
	plainAfter, plainHeapAfter := rss(plain.pid()), heapInuse(plain.base)
	plain.stop()
	if err != nil {
		return err
	}

	guarded, err := startServe(b.plumb, b.env.Kubeconfig, ns, file, filepath.Join(b.work, "guarded.db"), "--admission", "enforce", "--admission-listen", addr,
		"--admission-token-file", tokenFile)
	if err != nil {
		return err
	}
	defer guarded.stop()
	if err := waitDenied(client, ns, time.Minute); err != nil {
		return err
	}
	guardedRSS, guardedHeap := rss(guarded.pid()), heapInuse(guarded.base)
	allowed, err := paced(rate, d, patcher(client, ns, "guarded", false, nil))
	if err != nil {
		return err
	}
	var passed atomic.Int64
	denied, err := paced(rate, d, patcher(client, ns, "guarded", true, &passed))
	if err != nil {
		return err
	}
	direct, err := directReviews(b.env.Clientset, ns, "https://"+addr, token)
	if err != nil {
		return err
	}
	reviews, err := paced(rate, d, direct)
	if err != nil {
		return err
	}
	after := rss(guarded.pid())
	decided, err := histogramSummary(guarded.base, "plumb_admission_review_seconds")
	if err != nil {
		return err
	}

	fmt.Printf("Admission webhook, %d declared objects, %d requests/s for %s each.\n\n", n, rate, d)
	fmt.Println("| measure | p50 | p99 | max | requests |")
	fmt.Println("|---|---:|---:|---:|---:|")
	row := func(name string, l []time.Duration) {
		fmt.Printf("| %s | %s | %s | %s | %d |\n", name, pct(l, 50), pct(l, 99), pct(l, 100), len(l))
	}
	row("review sent straight to the webhook over TLS (plumb alone; half denied)", reviews)
	row("PATCH of an undeclared label through the API server, no webhook", without)
	row("PATCH of an undeclared label through the API server, plumb's webhook (allowed)", allowed)
	row("PATCH of a declared field through the API server, plumb's webhook (denied)", denied)
	fmt.Printf("\nAllowed PATCH with the webhook / without: p50 %.2f, p99 %.2f. Declared changes let through while enforcing: %d of %d; the API server's fail-open count for plumb's webhook: %s.\n",
		float64(percentile(allowed, 50))/float64(percentile(without, 50)), float64(percentile(allowed, 99))/float64(percentile(without, 99)),
		passed.Load(), len(denied), failOpen(b.env.Clientset))
	fmt.Printf("plumb's own decision time (plumb_admission_review_seconds, every review of the run): %s.\n", decided)
	fmt.Printf("plumb serve without admission: RSS %d MiB settled, %d MiB after its PATCH run; Go heap in use %d / %d MiB.\n",
		plainRSS.total/1024, plainAfter.total/1024, plainHeap>>20, plainHeapAfter>>20)
	fmt.Printf("plumb serve with --admission enforce: RSS %d MiB settled, %d MiB after all its runs; Go heap in use %d / %d MiB.\n",
		guardedRSS.total/1024, after.total/1024, guardedHeap>>20, heapInuse(guarded.base)>>20)
	return nil
}

// histogramSummary reads a histogram from plumb's metrics and says which
// bucket bounds hold its p50 and p99, and the share within 5 ms.
func histogramSummary(base, name string) (string, error) {
	mf, err := metricFamilies(base)
	if err != nil {
		return "", err
	}
	if mf[name] == nil {
		return "", fmt.Errorf("plumb serve has no metric %s", name)
	}
	h := mf[name].GetMetric()[0].GetHistogram()
	total := float64(h.GetSampleCount())
	bound := func(q float64) string {
		for _, b := range h.GetBucket() {
			if float64(b.GetCumulativeCount()) >= q*total {
				return fmt.Sprintf("≤ %g ms", b.GetUpperBound()*1000)
			}
		}
		return "> the largest bucket"
	}
	within := 0.0
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == 0.005 {
			within = float64(b.GetCumulativeCount()) / total
		}
	}
	return fmt.Sprintf("%.0f reviews, p50 %s, p99 %s, %.2f %% within 5 ms", total, bound(0.5), bound(0.99), 100*within), nil
}

// heapInuse reads plumb serve's Go heap in use from its metrics.
func heapInuse(base string) int64 {
	mf, err := metricFamilies(base)
	if err != nil || mf["go_memstats_heap_inuse_bytes"] == nil {
		return 0
	}
	return int64(mf["go_memstats_heap_inuse_bytes"].GetMetric()[0].GetGauge().GetValue())
}

// paced calls do rate times a second for d, each call on its own
// goroutine at its scheduled time (an open loop: a slow answer does not
// delay the next request), and returns the latencies, sorted.
func paced(rate int, d time.Duration, do func(i int) error) ([]time.Duration, error) {
	total := int(d.Seconds()) * rate
	interval := time.Second / time.Duration(rate)
	out := make([]time.Duration, total)
	errs := make(chan error, total)
	var wg sync.WaitGroup
	began := time.Now()
	for i := range total {
		time.Sleep(time.Until(began.Add(time.Duration(i) * interval)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			if err := do(i); err != nil {
				errs <- err
			}
			out[i] = time.Since(t)
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out, nil
}

// patcher patches the generated ConfigMaps in turn, each call a new value
// (run tells runs apart): an undeclared label, or with declared the
// declared data.mode, which plumb's webhook must refuse. passed counts the
// declared changes that went through: the API server lets them through
// when it cannot hear from plumb in time (failurePolicy Ignore).
func patcher(client kubernetes.Interface, ns, run string, declared bool, passed *atomic.Int64) func(int) error {
	cms := client.CoreV1().ConfigMaps(ns)
	return func(i int) error {
		name := fmt.Sprintf("cm-%d", 2*(i%1000))
		patch := fmt.Sprintf(`{"metadata":{"labels":{"touched":"%s-%d"}}}`, run, i)
		if declared {
			patch = fmt.Sprintf(`{"data":{"mode":"%s-%d"}}`, run, i)
		}
		_, err := cms.Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-patch"})
		if declared {
			if err == nil {
				passed.Add(1)
				return nil
			}
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "plumb") {
				return fmt.Errorf("patch of a declared field: want plumb's refusal, got %v", err)
			}
			return nil
		}
		return err
	}
}

// waitDenied waits until the API server calls plumb's webhook.
func waitDenied(client kubernetes.Interface, ns string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		_, err := client.CoreV1().ConfigMaps(ns).Patch(context.Background(), "cm-0", types.MergePatchType, []byte(`{"data":{"mode":"probe"}}`), metav1.PatchOptions{})
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "plumb") {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("plumb's webhook never refused a change within %s", d)
}

// directReviews returns a caller that sends AdmissionReviews, as the API
// server would, straight to the webhook at url over one TLS client that
// trusts the registered caBundle: even calls change a declared field of a
// live Deployment, odd ones add a label to a live ConfigMap.
func directReviews(admin kubernetes.Interface, ns, url, token string) (func(int) error, error) {
	ctx := context.Background()
	vwc, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "plumb", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(vwc.Webhooks[0].ClientConfig.CABundle) {
		return nil, fmt.Errorf("the webhook configuration's caBundle holds no certificate")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	deploy, err := admin.AppsV1().Deployments(ns).Get(ctx, "app-1", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	cm, err := admin.CoreV1().ConfigMaps(ns).Get(ctx, "cm-2", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	deploy.APIVersion, deploy.Kind = "apps/v1", "Deployment"
	cm.APIVersion, cm.Kind = "v1", "ConfigMap"
	oldDeploy, _ := json.Marshal(deploy)
	scaled := deploy.DeepCopy()
	*scaled.Spec.Replicas = 9
	newDeploy, _ := json.Marshal(scaled)
	oldCM, _ := json.Marshal(cm)
	labelled := cm.DeepCopy()
	labelled.Labels["touched"] = "yes"
	newCM, _ := json.Marshal(labelled)
	options := []byte(`{"kind":"PatchOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"kubectl-patch"}`)
	bodies := [2][]byte{}
	for i, r := range []admissionv1.AdmissionRequest{
		{Kind: metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Resource: metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
			Name: deploy.Name, Namespace: ns, Operation: admissionv1.Update, Object: runtime.RawExtension{Raw: newDeploy}, OldObject: runtime.RawExtension{Raw: oldDeploy}},
		{Kind: metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Resource: metav1.GroupVersionResource{Version: "v1", Resource: "configmaps"},
			Name: cm.Name, Namespace: ns, Operation: admissionv1.Update, Object: runtime.RawExtension{Raw: newCM}, OldObject: runtime.RawExtension{Raw: oldCM}},
	} {
		r.UID = types.UID(fmt.Sprintf("bench-%d", i))
		r.UserInfo = authenticationv1.UserInfo{Username: "bench-person", Groups: []string{"system:masters", "system:authenticated"}}
		r.Options = runtime.RawExtension{Raw: options}
		review := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: &r}
		if bodies[i], err = json.Marshal(review); err != nil {
			return nil, err
		}
	}
	return func(i int) error {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i%2]))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out admissionv1.AdmissionReview
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil {
			return fmt.Errorf("review %d: status %d, %v", i, resp.StatusCode, err)
		}
		if want := i%2 == 1; out.Response.Allowed != want {
			return fmt.Errorf("review %d: allowed %v, want %v", i, out.Response.Allowed, want)
		}
		return nil
	}, nil
}

// failOpen reads the API server's count of calls to plumb's webhook that
// failed and so let the write through.
func failOpen(admin kubernetes.Interface) string {
	raw, err := admin.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	n := 0.0
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "apiserver_admission_webhook_fail_open_count{") && strings.Contains(line, `name="drift.plumb.dev"`) {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v); err == nil {
				n += v
			}
		}
	}
	return fmt.Sprintf("%.0f", n)
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

func pct(sorted []time.Duration, p int) string {
	d := percentile(sorted, p)
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
	}
	return d.Round(time.Millisecond).String()
}
