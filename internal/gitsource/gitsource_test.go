package gitsource

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec, repo, path, rev, err string
	}{
		{spec: "git+https://github.com/acme/deploy//apps/shop?ref=v1.2.0", repo: "https://github.com/acme/deploy", path: "apps/shop", rev: "v1.2.0"},
		{spec: "git+https://github.com/acme/deploy", repo: "https://github.com/acme/deploy"},
		{spec: "git+file:///srv/git/deploy//base/?ref=main", repo: "file:///srv/git/deploy", path: "base", rev: "main"},
		{spec: "git+ssh://git@github.com/acme/deploy//prod", repo: "ssh://git@github.com/acme/deploy", path: "prod"},
		{spec: "git+ftp://example.com/repo", err: `unsupported scheme "ftp"`},
		{spec: "git+https://example.com/repo//../etc", err: "must stay inside"},
		{spec: "git+https://example.com/repo?rev=main", err: `unknown parameter "rev"`},
		{spec: "deploy/", err: "not a Git source"},
	} {
		r, err := Parse(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q): error %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || r.Repo != tc.repo || r.Path != tc.path || r.Rev != tc.rev {
			t.Errorf("Parse(%q) = %+v, %v; want repo %q path %q rev %q", tc.spec, r, err, tc.repo, tc.path, tc.rev)
		}
		if back, _ := Parse(r.String()); back != r {
			t.Errorf("%q does not round-trip: %+v", r.String(), back)
		}
	}
}
