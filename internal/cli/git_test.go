package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// commitAll commits everything in the work tree of the repository at dir
// and returns the commit's hash.
func commitAll(t *testing.T, repo *git.Repository, msg string) string {
	t.Helper()
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit(msg, &git.CommitOptions{All: true, Author: &object.Signature{Name: "Jane", Email: "jane@example.com", When: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// TestGitSources: the shop in a real repository, at a tag and at the
// branch's head, is a source for plumb check (offline, one ref against
// another) and for plumb scan, whose findings name the repository and
// commit they were compared with; plumb.yaml's git form works too.
func TestGitSources(t *testing.T) {
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	deploy := filepath.Join(dir, "deploy")
	if err := os.Rename(copyShop(t), deploy); err != nil {
		t.Fatal(err)
	}
	v1 := commitAll(t, repo, "the shop")
	if _, err := repo.CreateTag("v1", plumbing.NewHash(v1), nil); err != nil {
		t.Fatal(err)
	}
	rewrite(t, filepath.Join(deploy, "web.yaml"), "replicas: 2", "replicas: 0")
	head := commitAll(t, repo, "scale web to zero")
	at := func(ref string) string { return "git+file://" + dir + "//deploy?ref=" + ref }

	// plumb check in CI: the pull request's head against the tag.
	code, out, stderr := run(t, "check", "--against", at("v1"), "--source", at(head), "-o", "json")
	if code != ExitDrift || !strings.Contains(out, `"scale-to-zero"`) {
		t.Fatalf("check v1 → head: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, out, stderr := run(t, "check", "--against", at("v1"), "--source", at("v1")); code != ExitInSync {
		t.Fatalf("check v1 → v1: exit %d\n%s\n%s", code, out, stderr)
	}

	// plumb scan: in sync with the tag that was deployed, drifted from
	// the head, and the finding names the commit.
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	requireInSync(t, ns, "--source", at("v1"))
	code, r, stderr := scanJSON(t, ns, "--source", at(head[:8]))
	if code != ExitDrift || len(r.Findings) != 1 {
		t.Fatalf("scan at head: exit %d, %d findings\n%s", code, len(r.Findings), stderr)
	}
	src := r.Findings[0].Source
	if src == nil || src.Repo != "file://"+dir || src.Commit != head || src.Path != "deploy/web.yaml" || src.Line != 1 {
		t.Errorf("the finding's source is %+v, want deploy/web.yaml:1 at %s", src, head)
	}

	// plumb.yaml: git: {url, ref, path}.
	cfg := filepath.Join(t.TempDir(), "plumb.yaml")
	if err := os.WriteFile(cfg, []byte(`apiVersion: plumb.dev/v1alpha1
kind: Config
clusters: [{name: envtest, kubeconfig: `+env.Kubeconfig+`}]
sources: [{name: shop, namespace: `+ns+`, git: {url: "file://`+dir+`", ref: v1, path: deploy}}]
bindings: [{source: shop}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := run(t, "scan", "-c", cfg); code != ExitInSync {
		t.Errorf("scan -c with a git source at v1: exit %d\n%s\n%s", code, out, stderr)
	}

	// A ref that does not resolve is a clear error naming the source.
	if code, _, stderr := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", at("v9")); code != ExitError || !strings.Contains(stderr, "ref v9 does not resolve") {
		t.Errorf("a bad ref: exit %d\n%s", code, stderr)
	}
}
