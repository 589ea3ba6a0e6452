package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHookAuthorized: with a token, a push hook must prove it knows it in
// one of the ways forges send it.
func TestHookAuthorized(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	sign := func(secret string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	for _, tc := range []struct {
		name, token, header, value string
		want                       bool
	}{
		{"no token set", "", "", "", true},
		{"nothing sent", "t0k", "", "", false},
		{"bearer", "t0k", "Authorization", "Bearer t0k", true},
		{"wrong bearer", "t0k", "Authorization", "Bearer nope", false},
		{"gitlab", "t0k", "X-Gitlab-Token", "t0k", true},
		{"wrong gitlab", "t0k", "X-Gitlab-Token", "nope", false},
		{"github signature", "t0k", "X-Hub-Signature-256", sign("t0k"), true},
		{"signature with another secret", "t0k", "X-Hub-Signature-256", sign("nope"), false},
		{"sha1 signature", "t0k", "X-Hub-Signature", "sha1=00", false},
	} {
		r := httptest.NewRequest("POST", "/api/v1/hooks/git", strings.NewReader(string(body)))
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		if got := hookAuthorized(tc.token, r, body); got != tc.want {
			t.Errorf("%s: authorized %v, want %v", tc.name, got, tc.want)
		}
	}
}
