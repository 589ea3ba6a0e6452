package drift_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/testwait"
)

// startInjector serves a mutating admission webhook over TLS on loopback
// that adds an annotation to every object it sees, like a sidecar or
// policy injector. It returns the URL and the CA bundle to register.
func startInjector(t *testing.T) (url string, caPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "injector"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}

	mux := http.NewServeMux()
	mux.HandleFunc("/inject", func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		var obj unstructured.Unstructured
		if err := obj.UnmarshalJSON(review.Request.Object.Raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ann := obj.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann["sidecar.example.com/injected"] = "true"
		patch, _ := json.Marshal([]map[string]any{{"op": "add", "path": "/metadata/annotations", "value": ann}})
		pt := admissionv1.PatchTypeJSONPatch
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true, Patch: patch, PatchType: &pt}
		review.Request = nil
		_ = json.NewEncoder(w).Encode(review)
	})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "https://" + ln.Addr().String() + "/inject", caPEM
}

// TestMutatingWebhookIsNotDrift registers a webhook that annotates every
// ConfigMap in the test's namespace. The annotation is in the live object
// and not in the source, yet a scan reports no drift: the dry-run runs the
// webhook too. A real change next to it is still found, alone.
func TestMutatingWebhookIsNotDrift(t *testing.T) {
	t.Parallel()
	env := drift.SharedEnv()
	a := appAt(env.Namespace(t), filepath.Join(t.TempDir(), "cm.yaml"))
	url, ca := startInjector(t)
	name := "injector-" + a.ns
	hook := fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: %s
webhooks:
  - name: inject.sidecar.example.com
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    clientConfig:
      url: %q
      caBundle: %s
    namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: %s}
    rules:
      - apiGroups: [""]
        apiVersions: [v1]
        resources: [configmaps]
        operations: [CREATE, UPDATE]
`, name, url, base64.StdEncoding.EncodeToString(ca), a.ns)
	env.Kubectl(t, hook, "apply", "-f", "-")
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "mutatingwebhookconfiguration", name) })

	if err := os.WriteFile(a.source, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: fast\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := kubectlIn(t, a.ns)
	// The webhook takes effect a moment after it is registered.
	testwait.For(t, 30*time.Second, "the webhook annotating the ConfigMap", func() bool {
		k("", "apply", "--server-side", "-f", a.source)
		got := env.Kubectl(t, "", "-n", a.ns, "get", "configmap", "app", "-o", `jsonpath={.metadata.annotations.sidecar\.example\.com/injected}`)
		return got == "true"
	})
	requireInSync(t, a, drift.DefaultOptions())

	k("", "patch", "configmap", "app", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	want := []owned{{"ConfigMap/app", ".data.mode", "modified", "kubectl-patch"}}
	if d := cmp.Diff(want, ownedChangesOf(scan(t, a))); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
}
