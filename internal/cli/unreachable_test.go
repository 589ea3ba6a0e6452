package cli

import (
	"net"
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"plumb.dev/plumb/internal/report"
)

// unreachableKubeconfig is the test cluster's kubeconfig with every
// server moved to an address where nothing listens.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	kc, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		c.Server = "https://" + addr
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUnreachableClusterIsReportedNotHidden points plumb at an address where
// no API server listens: the report says unreachable and the exit code 2.
func TestUnreachableClusterIsReportedNotHidden(t *testing.T) {
	path := unreachableKubeconfig(t)
	cache := t.TempDir() // no discovery cached from the live server
	code, out, stderr := run(t, "scan", "--kubeconfig", path, "--cache-dir", cache, "--request-timeout", "5s", "--source", shop, "-o", "json")
	if code != ExitError {
		t.Errorf("exit %d, want %d; stderr: %s", code, ExitError, stderr)
	}
	r := decodeReport(t, out)
	if len(r.Clusters) != 1 || r.Clusters[0].Status != report.StatusUnreachable || r.Clusters[0].Error == "" {
		t.Errorf("clusters = %+v, want one unreachable with its error", r.Clusters)
	}
}
