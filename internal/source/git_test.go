package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/gitsource"
)

// gitRepo makes a real repository in a new folder: files are written and
// committed in order, each map one commit; it returns the folder and the
// commits' hashes.
func gitRepo(t testing.TB, commits ...map[string]string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for i, files := range commits {
		for name, content := range files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := wt.Add(name); err != nil {
				t.Fatal(err)
			}
		}
		h, err := wt.Commit("commit "+string(rune('a'+i)), &git.CommitOptions{Author: &object.Signature{Name: "Jane", Email: "jane@example.com", When: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h.String())
	}
	return dir, hashes
}

const gitWeb = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: %s\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n"

// TestGitSource reads manifests and a kustomize root from a real
// repository at a tag, a branch, a commit and the default branch, names
// the repository and commit in each origin, and says clearly what is wrong
// with a ref that does not resolve, a path the commit lacks and a
// repository that cannot be read.
func TestGitSource(t *testing.T) {
	dir, commits := gitRepo(t,
		map[string]string{"deploy/web.yaml": strings.Replace(gitWeb, "%s", "2", 1),
			"overlay/kustomization.yaml": "resources: [web.yaml]\nnamePrefix: prod-\n", "overlay/web.yaml": strings.Replace(gitWeb, "%s", "2", 1)},
		map[string]string{"deploy/web.yaml": strings.Replace(gitWeb, "%s", "3", 1)},
	)
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := repo.Head()
	if _, err := repo.CreateTag("v1", plumbing.NewHash(commits[0]), nil); err != nil {
		t.Fatal(err)
	}
	branch := head.Name().Short()
	url := "git+file://" + dir
	replicas := func(o Object) int64 {
		n, _, _ := unstructured.NestedInt64(o.Object.Object, "spec", "replicas")
		return n
	}
	for _, tc := range []struct {
		spec     string
		commit   string
		replicas int64
		name     string
		path     string
	}{
		{url + "//deploy?ref=v1", commits[0], 2, "web", "deploy/web.yaml"},
		{url + "//deploy?ref=" + branch, commits[1], 3, "web", "deploy/web.yaml"},
		{url + "//deploy?ref=" + commits[0][:10], commits[0], 2, "web", "deploy/web.yaml"},
		{url + "//deploy/web.yaml", commits[1], 3, "web", "deploy/web.yaml"},
		{url + "//overlay?ref=v1", commits[0], 2, "prod-web", "overlay/web.yaml"},
	} {
		set := Load(context.Background(), []string{tc.spec}, Options{})
		if len(set.Errors) > 0 || len(set.Objects) != 1 {
			t.Fatalf("%s: %d objects, errors %v", tc.spec, len(set.Objects), set.Errors)
		}
		o := set.Objects[0]
		if o.Origin.Repo != "file://"+dir || o.Origin.Commit != tc.commit || o.Origin.Path != tc.path || replicas(o) != tc.replicas || o.Object.GetName() != tc.name {
			t.Errorf("%s: origin %+v, replicas %d, name %s; want commit %s, %s, %d replicas, %s", tc.spec, o.Origin, replicas(o), o.Object.GetName(), tc.commit, tc.path, tc.replicas, tc.name)
		}
		if want := "file://" + dir + "@" + tc.commit[:12] + ":" + tc.path; !strings.HasPrefix(o.Origin.String(), want) {
			t.Errorf("origin %q, want %q…", o.Origin, want)
		}
	}

	for _, tc := range []struct{ spec, want string }{
		{url + "//deploy?ref=v9", "ref v9 does not resolve"},
		{url + "//nowhere?ref=v1", "has no nowhere"},
		{"git+file://" + filepath.Join(t.TempDir(), "missing") + "//deploy", "cannot read the repository"},
	} {
		set := Load(context.Background(), []string{tc.spec, filepath.Join(dir, "deploy")}, Options{})
		if len(set.Errors) != 1 || !strings.Contains(set.Errors[0].Error(), tc.want) || !strings.Contains(set.Errors[0].Error(), "git+file://") {
			t.Errorf("%s: errors %v, want one naming the source and saying %q", tc.spec, set.Errors, tc.want)
		}
		if len(set.Objects) != 1 {
			t.Errorf("%s: the other path was not loaded (%d objects)", tc.spec, len(set.Objects))
		}
	}
	// A bad manifest inside the repository is named by repository, commit
	// and path, with its line.
	bad, badCommits := gitRepo(t, map[string]string{"deploy/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [oops]}\n"})
	set := Load(context.Background(), []string{"git+file://" + bad + "//deploy"}, Options{})
	if len(set.Errors) != 1 || !strings.HasPrefix(set.Errors[0].Error(), "file://"+bad+"@"+badCommits[0][:12]+":deploy/bad.yaml:") {
		t.Errorf("errors %v", set.Errors)
	}
}

// BenchmarkGitReread is what plumb serve pays each --git-interval for a
// Git source of 2,000 objects: reading the ref's commit when nothing moved
// (unchanged), against loading the source again, clone, checkout and
// parse, when it did (load).
func BenchmarkGitReread(b *testing.B) {
	files := map[string]string{}
	for i := range 1000 {
		files[fmt.Sprintf("deploy/web-%04d.yaml", i)] = strings.Replace(strings.Replace(gitWeb, "%s", "2", 1), "name: web", fmt.Sprintf("name: web-%04d", i), 1)
		files[fmt.Sprintf("deploy/cm-%04d.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%04d\ndata:\n  key: value-%d\n", i, i)
	}
	dir, commits := gitRepo(b, files)
	spec := "git+file://" + dir + "//deploy"
	ref, err := gitsource.Parse(spec)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			if head, err := gitsource.Head(ctx, ref, gitsource.Auth{}); err != nil || head != commits[0] {
				b.Fatalf("Head = %s, %v", head, err)
			}
		}
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			if set := Load(ctx, []string{spec}, Options{}); len(set.Objects) != 2000 || len(set.Errors) > 0 {
				b.Fatalf("%d objects, %v", len(set.Objects), set.Errors)
			}
		}
	})
}
