package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHookAuthorized: a push hook proves it knows the hook's own secret in
// one of the ways forges send it, or the API token as a bearer token; the
// API token is never the forge's secret, nor the secret a bearer token.
func TestHookAuthorized(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	sign := func(secret string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	for _, tc := range []struct {
		name, token, secret, header, value string
		want                               bool
	}{
		{"nothing set", "", "", "", "", true},
		{"nothing sent", "t0k", "h00k", "", "", false},
		{"bearer API token", "t0k", "h00k", "Authorization", "Bearer t0k", true},
		{"wrong bearer", "t0k", "h00k", "Authorization", "Bearer nope", false},
		{"the hook secret as a bearer token", "t0k", "h00k", "Authorization", "Bearer h00k", false},
		{"gitlab", "t0k", "h00k", "X-Gitlab-Token", "h00k", true},
		{"gitlab with the API token", "t0k", "h00k", "X-Gitlab-Token", "t0k", false},
		{"gitlab, no hook secret set", "t0k", "", "X-Gitlab-Token", "t0k", false},
		{"github signature", "t0k", "h00k", "X-Hub-Signature-256", sign("h00k"), true},
		{"github signature keyed with the API token", "t0k", "h00k", "X-Hub-Signature-256", sign("t0k"), false},
		{"github signature, no hook secret set", "t0k", "", "X-Hub-Signature-256", sign(""), false},
		{"sha1 signature", "t0k", "h00k", "X-Hub-Signature", "sha1=00", false},
		{"only a hook secret: bearer refused", "", "h00k", "Authorization", "Bearer ", false},
	} {
		r := httptest.NewRequest("POST", "/api/v1/hooks/git", strings.NewReader(string(body)))
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		if got := hookAuthorized(tc.token, tc.secret, r, body); got != tc.want {
			t.Errorf("%s: authorized %v, want %v", tc.name, got, tc.want)
		}
	}
}
