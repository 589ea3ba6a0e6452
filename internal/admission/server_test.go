package admission

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"plumb.dev/plumb/internal/webhookauth"
)

// TestServerAuthenticatesItsCallers: with a token, only requests bearing
// it are reviewed; with client CAs, only callers whose certificate they
// verify (a certificate from another CA is not even sent: the server asks
// for its own CAs' ones). A refused caller decides nothing and records
// nothing.
func TestServerAuthenticatesItsCallers(t *testing.T) {
	f := newFixture(t)
	apiServerCA := newCA(t, "api-server-ca")
	apiServerCert := apiServerCA.issue(t, "kube-apiserver")
	stranger := newCA(t, "stranger-ca").issue(t, "kube-apiserver")
	body, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: f.request(t, "ceo@example.com", "kubectl", breakGlassScale, "sre")})
	if err != nil {
		t.Fatal(err)
	}
	post := func(url, token string, cert *tls.Certificate) (int, error) {
		tc := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test checks the client side only
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}).Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	opts := Options{Mode: ModeEnforce, BreakGlass: []string{"sre"}}

	for _, tc := range []struct {
		name  string
		auth  webhookauth.Caller
		token string
		cert  *tls.Certificate
		want  int
	}{
		{"no token", webhookauth.Caller{Token: "s3cret"}, "", nil, http.StatusUnauthorized},
		{"a wrong token", webhookauth.Caller{Token: "s3cret"}, "guess", nil, http.StatusUnauthorized},
		{"the token", webhookauth.Caller{Token: "s3cret"}, "s3cret", nil, http.StatusOK},
		{"no certificate", webhookauth.Caller{ClientCAs: apiServerCA.pool}, "", nil, http.StatusUnauthorized},
		{"another CA's certificate", webhookauth.Caller{ClientCAs: apiServerCA.pool}, "", &stranger, http.StatusUnauthorized},
		{"the API server's certificate", webhookauth.Caller{ClientCAs: apiServerCA.pool}, "", &apiServerCert, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.breaks)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			serving, err := LoadCerts(context.Background(), "127.0.0.1", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- NewServer([]*Cluster{f.cluster}, opts, tc.auth, nil).Run(ctx, ln, serving) }()
			defer func() { cancel(); <-done }()
			code, err := post("https://"+ln.Addr().String()+"/", tc.token, tc.cert)
			if err != nil || code != tc.want {
				t.Fatalf("status %d, %v; want %d", code, err, tc.want)
			}
			if reviewed := len(f.breaks) > before; reviewed != (tc.want == http.StatusOK) {
				t.Errorf("break-glass recorded: %v, want %v", reviewed, tc.want == http.StatusOK)
			}
		})
	}
}

func breakGlassScale(u *unstructured.Unstructured) {
	u.SetAnnotations(map[string]string{BreakGlassAnnotation: "forged"})
	scale(9)(u)
}

// testCA is a certificate authority made for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return testCA{cert: cert, key: key, pool: pool}
}

// issue makes a client certificate for name, signed by ca.
func (ca testCA) issue(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
