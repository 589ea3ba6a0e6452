package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"plumb.dev/plumb/internal/testwait"
)

// gitShop makes a repository holding the shop under deploy/, committed.
func gitShop(t *testing.T) (dir string, repo *git.Repository, commit string) {
	t.Helper()
	dir = t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(copyShop(t), filepath.Join(dir, "deploy")); err != nil {
		t.Fatal(err)
	}
	return dir, repo, commitAll(t, repo, "the shop")
}

// postHook calls POST /api/v1/hooks/git and returns the status code.
func postHook(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Post(base+"/api/v1/hooks/git", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeFollowsGit: plumb serve reads a Git source's commit on the push
// hook (and every --git-interval). A hook with no new commit loads and
// compares nothing; a commit that changes no declaration only moves the
// findings to the new commit; a commit that changes a declaration is
// compared, and resolves the drift it makes official.
func TestServeFollowsGit(t *testing.T) {
	dir, repo, first := gitShop(t)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	base, stop := startServe(t, "-v", "2", "-n", ns, "--source", "git+file://"+dir+"//deploy", "--git-interval", "1h")
	defer stop()

	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	testwait.For(t, 10*time.Second, "the scale is drift at the first commit", func() bool {
		fs := findingsOf(t, base)
		return len(fs) == 1 && fs[0].Source != nil && fs[0].Source.Commit == first && fs[0].Source.Path == "deploy/web.yaml"
	})
	reads := func(outcome string) float64 {
		return metricValue(t, base, "plumb_remote_source_reads_total", map[string]string{"outcome": outcome})
	}
	dryRuns := func() float64 { return metricValue(t, base, "plumb_dry_runs", nil) }

	// No new commit: a reading, nothing loaded, no comparison.
	before := dryRuns()
	if code := postHook(t, base); code != http.StatusAccepted {
		t.Fatalf("POST /api/v1/hooks/git: %d, want 202", code)
	}
	testwait.For(t, 10*time.Second, "the hook's reading", func() bool { return reads("unchanged") == 1 })
	if n := dryRuns(); n != before || reads("moved") != 0 {
		t.Errorf("a hook with no new commit: %v dry-runs (was %v), %v reloads; want none", n, before, reads("moved"))
	}

	// A commit that declares nothing new: the finding names it, with no
	// comparison.
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("the shop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	second := commitAll(t, repo, "a README")
	postHook(t, base)
	testwait.For(t, 10*time.Second, "the finding moves to the second commit", func() bool {
		fs := findingsOf(t, base)
		return len(fs) == 1 && fs[0].Source.Commit == second
	})
	if n := dryRuns(); n != before {
		t.Errorf("a commit that changes no declaration: %v dry-runs (was %v); want none", n, before)
	}

	// The team makes 5 replicas official: compared, and resolved.
	rewrite(t, filepath.Join(dir, "deploy", "web.yaml"), "replicas: 2", "replicas: 5")
	commitAll(t, repo, "web takes 5 replicas")
	postHook(t, base)
	testwait.For(t, 10*time.Second, "the finding resolves", func() bool { return len(findingsOf(t, base)) == 0 })
}

// TestServeGitHookWithoutGitSources: the hook is not found when nothing
// is read from Git.
func TestServeGitHookWithoutGitSources(t *testing.T) {
	ns := env.Namespace(t)
	base, stop := startServe(t, "-n", ns, "--source", shop)
	defer stop()
	if code := postHook(t, base); code != http.StatusNotFound {
		t.Errorf("POST /api/v1/hooks/git with no Git source: %d, want 404", code)
	}
}
