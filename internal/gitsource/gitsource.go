// Package gitsource checks out a Git source (git+https://host/org/repo//path?ref=REF,
// git+file:///abs/repo//path?ref=REF) at one commit, with go-git, into a
// folder that any source kind (manifests, kustomize, chart) is then read
// from.
//
// It must not read manifests itself, keep credentials beyond a fetch, or
// leave a checkout behind that its caller did not ask to keep.
package gitsource

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Prefix marks a source given as a Git URL.
const Prefix = "git+"

// Ref is a parsed Git source.
type Ref struct {
	// Repo is the repository's URL without the git+ prefix, the path and
	// the ref (https://host/org/repo, file:///abs/repo).
	Repo string
	// Path is the folder or file inside the repository; "" is its root.
	Path string
	// Rev is a branch, tag or commit; "" is the remote's default branch.
	Rev string
}

// Is reports whether spec names a Git source.
func Is(spec string) bool { return strings.HasPrefix(spec, Prefix) }

// Parse reads git+URL[//PATH][?ref=REF].
func Parse(spec string) (Ref, error) {
	if !Is(spec) {
		return Ref{}, fmt.Errorf("%s: not a Git source (want git+https://… or git+file://…)", spec)
	}
	u, err := url.Parse(strings.TrimPrefix(spec, Prefix))
	if err != nil {
		return Ref{}, fmt.Errorf("%s: %w", spec, err)
	}
	switch u.Scheme {
	case "https", "http", "file", "ssh":
	default:
		return Ref{}, fmt.Errorf("%s: unsupported scheme %q (want https, http, ssh or file)", spec, u.Scheme)
	}
	ref := Ref{Rev: u.Query().Get("ref")}
	for k := range u.Query() {
		if k != "ref" {
			return Ref{}, fmt.Errorf("%s: unknown parameter %q (only ref is known)", spec, k)
		}
	}
	repoPath, inside, _ := strings.Cut(u.Path, "//")
	if inside != "" {
		ref.Path = path.Clean(inside)
		if ref.Path == "." || strings.HasPrefix(ref.Path, "../") || ref.Path == ".." {
			return Ref{}, fmt.Errorf("%s: the path inside the repository must stay inside it", spec)
		}
	}
	u.Path, u.RawPath, u.RawQuery = repoPath, "", ""
	ref.Repo = u.String()
	return ref, nil
}

// String writes r back as a source.
func (r Ref) String() string {
	s := Prefix + r.Repo
	if r.Path != "" {
		s += "//" + r.Path
	}
	if r.Rev != "" {
		s += "?ref=" + url.QueryEscape(r.Rev)
	}
	return s
}

// Checkout is a Git source checked out at one commit.
type Checkout struct {
	Ref
	// Dir is the work tree; the source is read from Dir/Path.
	Dir string
	// Commit is the full hash checked out.
	Commit string
}

// Fetch clones r's repository into a new folder under dir (the system's
// temporary folder when ""), resolves Rev and checks that commit out. The
// caller removes Checkout.Dir when done. Errors name the source and say
// what failed: an unreadable repository, a ref that does not resolve, a
// path the commit does not have.
func Fetch(ctx context.Context, r Ref, dir string, auth Auth) (Checkout, error) {
	method, err := auth.method(ctx, r.Repo)
	if err != nil {
		return Checkout{}, fmt.Errorf("%s: %w", r, err)
	}
	tmp, err := os.MkdirTemp(dir, "plumb-git-")
	if err != nil {
		return Checkout{}, err
	}
	co, err := fetch(ctx, r, tmp, method)
	if err != nil {
		os.RemoveAll(tmp)
		return Checkout{}, fmt.Errorf("%s: %w", r, err)
	}
	return co, nil
}

func fetch(ctx context.Context, r Ref, tmp string, auth transport.AuthMethod) (Checkout, error) {
	// The objects stay in memory and the commit's files are written out
	// directly: go-git's worktree checkout decodes the trees again for
	// every file, which took seconds for a folder of 2,000 manifests.
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{URL: r.Repo, Auth: auth, NoCheckout: true, Tags: git.AllTags})
	if err != nil {
		return Checkout{}, fmt.Errorf("cannot read the repository: %w", err)
	}
	hash, err := resolve(repo, r.Rev)
	if err != nil {
		return Checkout{}, err
	}
	commit, err := repo.CommitObject(hash)
	if err != nil {
		return Checkout{}, fmt.Errorf("%s is not a commit: %w", hash.String()[:12], err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return Checkout{}, err
	}
	if r.Path != "" {
		if _, err := tree.FindEntry(r.Path); err != nil {
			return Checkout{}, fmt.Errorf("commit %s has no %s", hash.String()[:12], r.Path)
		}
	}
	// The whole tree, not only Path: an overlay names ../base.
	if err := writeTree(ctx, tree, tmp); err != nil {
		return Checkout{}, fmt.Errorf("checkout %s: %w", hash.String()[:12], err)
	}
	return Checkout{Ref: r, Dir: tmp, Commit: hash.String()}, nil
}

// writeTree writes every file of tree under dir. A symbolic link is made
// only when it points inside dir; submodules are left out, as a clone
// without --recurse-submodules leaves them.
func writeTree(ctx context.Context, tree *object.Tree, dir string) error {
	return tree.Files().ForEach(func(f *object.File) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		content, err := f.Contents()
		if err != nil {
			return err
		}
		if f.Mode == filemode.Symlink {
			target := filepath.Join(filepath.Dir(p), content)
			if rel, err := filepath.Rel(dir, target); filepath.IsAbs(content) || err != nil || strings.HasPrefix(rel, "..") {
				return nil // outside the repository: never followed
			}
			return os.Symlink(content, p)
		}
		return os.WriteFile(p, []byte(content), 0o644)
	})
}

// resolve finds the commit rev names: the default branch when "", else a
// branch of the remote, a tag, or a (possibly abbreviated) commit hash.
func resolve(repo *git.Repository, rev string) (plumbing.Hash, error) {
	if rev == "" {
		head, err := repo.Head()
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("the repository has no default branch: %w", err)
		}
		return head.Hash(), nil
	}
	for _, candidate := range []string{"refs/remotes/origin/" + rev, "refs/tags/" + rev, rev} {
		if h, err := repo.ResolveRevision(plumbing.Revision(candidate)); err == nil {
			return *h, nil
		}
	}
	return plumbing.ZeroHash, errors.New("ref " + rev + " does not resolve to a branch, tag or commit")
}

// Head returns the commit r's Rev names on the remote now, asking the
// remote for its references only (git ls-remote): it fetches no objects.
// A Rev that is a full commit hash names that commit for good and is
// returned as it is. For an annotated tag it returns the tag object's
// hash, which moves when the tag is moved.
func Head(ctx context.Context, r Ref, auth Auth) (string, error) {
	if plumbing.IsHash(r.Rev) {
		return r.Rev, nil
	}
	method, err := auth.method(ctx, r.Repo)
	if err != nil {
		return "", fmt.Errorf("%s: %w", r, err)
	}
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{r.Repo}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: method})
	if err != nil {
		return "", fmt.Errorf("%s: cannot read the repository: %w", r, err)
	}
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, ref := range refs {
		byName[ref.Name()] = ref
	}
	names := []plumbing.ReferenceName{plumbing.NewBranchReferenceName(r.Rev), plumbing.NewTagReferenceName(r.Rev)}
	if r.Rev == "" {
		names = []plumbing.ReferenceName{plumbing.HEAD}
	}
	for _, n := range names {
		ref := byName[n]
		for hops := 0; ref != nil && ref.Type() == plumbing.SymbolicReference && hops < 5; hops++ {
			ref = byName[ref.Target()]
		}
		if ref != nil && ref.Type() == plumbing.HashReference {
			return ref.Hash().String(), nil
		}
	}
	if r.Rev == "" {
		return "", fmt.Errorf("%s: the repository has no default branch", r)
	}
	// An abbreviated commit names one commit for good too.
	return r.Rev, nil
}
