package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/daemon"
)

// shardFlags split a fleet among replicas (--lease-namespace, --identity).
type shardFlags struct {
	namespace string
	identity  string
}

func (f *shardFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.namespace, "lease-namespace", "", "Share the fleet's clusters with the other replicas of plumb serve that use the same store: each cluster is watched by one replica, through coordination.k8s.io Leases in this namespace of the cluster plumb runs in (kubectl's context, or in-cluster)")
	fs.StringVar(&f.identity, "identity", "", "This replica's name among the others (default: $POD_NAME, else the host name)")
}

// validate checks what sharding needs and what it does not support yet.
func (f *shardFlags) validate(o *serveOptions) error {
	if f.namespace == "" {
		if f.identity != "" {
			return errors.New("--identity is for --lease-namespace")
		}
		return nil
	}
	if o.audit.listen != "" || o.admission.mode != "off" {
		return errors.New("--lease-namespace does not work with --audit-listen or --admission yet: run those on a single replica")
	}
	return nil
}

// identityOrDefault is --identity, else $POD_NAME, else the host name.
func (f *shardFlags) identityOrDefault() (string, error) {
	if f.identity != "" {
		return f.identity, nil
	}
	if p := os.Getenv("POD_NAME"); p != "" {
		return p, nil
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "", fmt.Errorf("--identity is required: no $POD_NAME and no host name (%v)", err)
	}
	return h, nil
}

// options are the flags as the daemon takes them, with the cluster plumb
// runs in dialled (kube); nil without --lease-namespace.
func (f *shardFlags) options(kube *genericclioptions.ConfigFlags) (*daemon.ShardOptions, error) {
	if f.namespace == "" {
		return nil, nil
	}
	id, err := f.identityOrDefault()
	if err != nil {
		return nil, err
	}
	home, err := cluster.New(kube, cluster.DefaultOptions())
	if err != nil {
		return nil, fmt.Errorf("--lease-namespace: the cluster plumb runs in: %w", err)
	}
	return &daemon.ShardOptions{Namespace: f.namespace, Identity: id, Home: home}, nil
}
