package gitsource

import (
	"context"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// gitHTTPBackend is git's own smart-HTTP server (Debian's git package).
const gitHTTPBackend = "/usr/lib/git-core/git-http-backend"

// privateRepo serves a repository holding one manifest over git's smart
// HTTP protocol, behind basic auth as user plumb with password s3cret, and
// returns its URL and commit.
func privateRepo(t *testing.T) (string, string) {
	t.Helper()
	if _, err := os.Stat(gitHTTPBackend); err != nil {
		t.Fatalf("%s: %v (install Debian's git package)", gitHTTPBackend, err)
	}
	root := t.TempDir()
	repo, err := git.PlainInit(filepath.Join(root, "deploy"), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "deploy", "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	if _, err := wt.Add("cm.yaml"); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("a", &git.CommitOptions{Author: &object.Signature{Name: "Jane", Email: "jane@example.com", When: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{Path: gitHTTPBackend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "plumb" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/deploy/.git", h.String()
}

// TestCredentials reads a private repository over HTTP with credentials
// from netrc and from GIT_ASKPASS, and fails clearly, without showing a
// password, with none or wrong ones.
func TestCredentials(t *testing.T) {
	url, commit := privateRepo(t)
	ref := Ref{Repo: url}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("NETRC", "")
	t.Setenv("GIT_ASKPASS", "")
	ctx := context.Background()
	fetch := func() (string, error) {
		co, err := Fetch(ctx, ref, t.TempDir(), Auth{})
		if err != nil {
			return "", err
		}
		if head, err := Head(ctx, ref, Auth{}); err != nil || head != co.Commit {
			t.Errorf("Head = %q, %v; want the fetched commit %s", head, err, co.Commit)
		}
		return co.Commit, nil
	}

	if _, err := fetch(); err == nil || !strings.Contains(err.Error(), "authentication required") {
		t.Errorf("no credentials: %v, want an authentication error", err)
	}

	netrc := filepath.Join(home, ".netrc")
	if err := os.WriteFile(netrc, []byte("machine 127.0.0.1 login plumb password wrong-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fetch(); err == nil || strings.Contains(err.Error(), "wrong-one") {
		t.Errorf("a wrong password in ~/.netrc: %v; want an error that does not show it", err)
	}
	if err := os.WriteFile(netrc, []byte("machine 127.0.0.1 login plumb password s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := fetch(); err != nil || got != commit {
		t.Errorf("~/.netrc: %q, %v; want %s", got, err, commit)
	}
	os.Remove(netrc)

	askpass := filepath.Join(home, "askpass.sh")
	script := "#!/bin/sh\ncase \"$1\" in Username*) echo plumb;; Password*) echo s3cret;; esac\n"
	if err := os.WriteFile(askpass, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_ASKPASS", askpass)
	if got, err := fetch(); err != nil || got != commit {
		t.Errorf("GIT_ASKPASS: %q, %v; want %s", got, err, commit)
	}

	if _, err := Fetch(ctx, Ref{Repo: "ssh://git@127.0.0.1/deploy"}, t.TempDir(), Auth{SSHKey: filepath.Join(home, "missing")}); err == nil || !strings.Contains(err.Error(), "SSH key "+filepath.Join(home, "missing")) {
		t.Errorf("a missing SSH key file: %v; want an error naming it", err)
	}
}
