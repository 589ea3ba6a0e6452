package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
)

// maxHookBody bounds a webhook's body: a push event of a large repository
// is a few hundred KiB.
const maxHookBody = 4 << 20

// gitHook asks serve to read its Git sources now instead of at the next
// interval: a push webhook. A forge proves it knows the hook's own secret
// (Options.HookSecret, never the API token) as GitLab's X-Gitlab-Token or
// as the key of GitHub's (or Gitea's) X-Hub-Signature-256 over the body;
// an API client may send the API token as a bearer token instead. The body is not read otherwise: every Git source
// is checked, and only those whose commit moved are loaded again.
func (s *Server) gitHook(w http.ResponseWriter, r *http.Request) {
	if s.b.GitHook == nil {
		writeError(w, http.StatusNotFound, "no Git sources are watched")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxHookBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	if !hookAuthorized(s.opts.Token, s.opts.HookSecret, r, body) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="plumb"`)
		writeError(w, http.StatusUnauthorized, "a valid bearer token, X-Gitlab-Token or X-Hub-Signature-256 is required")
		return
	}
	s.b.GitHook()
	w.WriteHeader(http.StatusAccepted)
	writeJSON(w, map[string]string{"status": "Git sources will be read now"})
}

// hookAuthorized reports whether r proves it knows the API token (as a
// bearer token) or the hook's secret (as a forge sends it). With neither
// set, the API is open (loopback) and so is the hook.
func hookAuthorized(token, secret string, r *http.Request, body []byte) bool {
	if token == "" && secret == "" {
		return true
	}
	eq := func(a, b string) bool { return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	if auth := r.Header.Get("Authorization"); auth != "" {
		return token != "" && eq(auth, "Bearer "+token)
	}
	if t := r.Header.Get("X-Gitlab-Token"); t != "" {
		return eq(t, secret)
	}
	if sig, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256="); ok && secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		return eq(sig, hex.EncodeToString(mac.Sum(nil)))
	}
	return false
}
