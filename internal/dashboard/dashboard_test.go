package dashboard

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func signIn(t *testing.T, mux http.Handler, from, token string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = from
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

// TestSignInIsRateLimited: a client that keeps guessing the token is
// answered 429 after a few wrong tries, while another client still signs
// in; a right token spends nothing.
func TestSignInIsRateLimited(t *testing.T) {
	mux := http.NewServeMux()
	New(Options{Token: "the-token"}).Register(mux, func(h http.Handler) http.Handler { return h })
	for range 10 {
		if w := signIn(t, mux, "192.0.2.9:1000", "the-token", nil); w.Code != http.StatusSeeOther {
			t.Fatalf("the right token: %d, want 303", w.Code)
		}
	}
	codes := map[int]int{}
	for range failedBurst + 3 {
		codes[signIn(t, mux, "192.0.2.66:4000", "guess", nil).Code]++
	}
	if codes[http.StatusUnauthorized] != failedBurst || codes[http.StatusTooManyRequests] != 3 {
		t.Errorf("wrong tokens: %v, want %d answered 401 then 429", codes, failedBurst)
	}
	if w := signIn(t, mux, "192.0.2.66:4001", "the-token", nil); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("the guessing client, right token: %d, want 429 with Retry-After until it waits", w.Code)
	}
	if w := signIn(t, mux, "192.0.2.9:1001", "the-token", nil); w.Code != http.StatusSeeOther {
		t.Errorf("another client during the guessing: %d, want 303", w.Code)
	}
}

// TestSessionCookieIsSecureBehindTLS: the cookie is Secure when the
// browser came over TLS, directly or through an ingress that says so.
func TestSessionCookieIsSecureBehindTLS(t *testing.T) {
	mux := http.NewServeMux()
	New(Options{Token: "the-token"}).Register(mux, func(h http.Handler) http.Handler { return h })
	plain := signIn(t, mux, "192.0.2.1:1", "the-token", nil).Header().Get("Set-Cookie")
	ingress := signIn(t, mux, "192.0.2.1:2", "the-token", map[string]string{"X-Forwarded-Proto": "https"}).Header().Get("Set-Cookie")
	if strings.Contains(plain, "Secure") || !strings.Contains(ingress, "Secure") {
		t.Errorf("cookie over plain HTTP %q (want not Secure), behind a TLS ingress %q (want Secure)", plain, ingress)
	}
}
