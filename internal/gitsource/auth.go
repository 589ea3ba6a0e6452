package gitsource

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/jdx/go-netrc"
)

// Auth says where credentials come from beyond the standard places.
//
// For https and http repositories, in order: a user and password in the
// URL; the netrc file ($NETRC, else ~/.netrc) entry for the host; the
// program $GIT_ASKPASS names, asked for "Username for 'URL': " and
// "Password for 'URL': " as git asks it. For ssh repositories: SSHKey when
// set, else the SSH agent; host keys are checked against known_hosts
// ($SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts).
type Auth struct {
	// SSHKey is a private key file for ssh:// repositories. Its passphrase,
	// if it has one, is read from $PLUMB_GIT_SSH_PASSPHRASE.
	SSHKey string `json:"sshKey,omitempty"`
}

// method returns how to authenticate to repo, or nil to go without.
// Credentials are read anew on each fetch and not kept.
func (a Auth) method(ctx context.Context, repo string) (transport.AuthMethod, error) {
	u, err := url.Parse(repo)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "ssh":
		user := u.User.Username()
		if user == "" {
			user = "git"
		}
		if a.SSHKey == "" {
			return nil, nil // go-git uses the SSH agent
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, a.SSHKey, os.Getenv("PLUMB_GIT_SSH_PASSPHRASE"))
		if err != nil {
			return nil, fmt.Errorf("SSH key %s: %w", a.SSHKey, err)
		}
		return keys, nil
	case "http", "https":
	default:
		return nil, nil
	}
	if u.User != nil {
		return nil, nil // go-git uses the URL's own
	}
	if m, err := netrcMachine(u.Hostname()); err != nil {
		return nil, err
	} else if m != nil {
		return &githttp.BasicAuth{Username: m.Get("login"), Password: m.Get("password")}, nil
	}
	if prog := os.Getenv("GIT_ASKPASS"); prog != "" {
		user, err := askpass(ctx, prog, "Username for '"+repo+"': ")
		if err != nil {
			return nil, err
		}
		pass, err := askpass(ctx, prog, "Password for '"+repo+"': ")
		if err != nil {
			return nil, err
		}
		return &githttp.BasicAuth{Username: user, Password: pass}, nil
	}
	return nil, nil
}

// netrcMachine returns the netrc entry for host, or nil.
func netrcMachine(host string) (*netrc.Machine, error) {
	path := os.Getenv("NETRC")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, nil
		}
		path = filepath.Join(home, ".netrc")
	}
	n, err := netrc.Parse(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netrc %s: %w", path, err)
	}
	if m := n.Machine(host); m != nil {
		return m, nil
	}
	return n.Machine("default"), nil
}

// askpass runs a GIT_ASKPASS program with prompt and returns the line it
// prints. What it prints is never put in an error.
func askpass(ctx context.Context, prog, prompt string) (string, error) {
	out, err := exec.CommandContext(ctx, prog, prompt).Output()
	if err != nil {
		return "", fmt.Errorf("GIT_ASKPASS %s: %w", prog, err)
	}
	return strings.TrimRight(string(out), "\r\n"), nil
}
