// Command demo shows plumb's main job on an embedded default that needs no
// existing cluster: it starts a local kube-apiserver and etcd, deploys the
// example shop with kubectl apply --server-side, changes it the way an
// engineer does during an incident, and runs plumb scan and plumb diff.
//
// Run it with `make demo`.
//
// It drives the plumb binary as a user would and must not import plumb's packages beyond testcluster.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"plumb.dev/plumb/internal/testcluster"
)

func main() {
	plumb := flag.String("plumb", "bin/plumb", "plumb binary to run")
	src := flag.String("source", "examples/shop", "source to deploy and scan")
	flag.Parse()
	if err := run(*plumb, *src); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
}

func run(plumb, src string) error {
	step("Starting a local control plane (kube-apiserver and etcd)")
	env, err := testcluster.Start()
	if err != nil {
		return err
	}
	defer env.Stop()
	kubectl := filepath.Join(env.AssetsDir, "kubectl")
	const ns = "shop"

	sh := func(name string, args ...string) error {
		shown := append([]string{filepath.Base(name)}, args...)
		fmt.Printf("$ %s\n", strings.Join(shown, " "))
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	k := func(args ...string) error { return sh(kubectl, append([]string{"-n", ns}, args...)...) }

	step("Deploying " + src)
	if err := sh(kubectl, "create", "namespace", ns); err != nil {
		return err
	}
	if err := k("apply", "--server-side", "-f", src); err != nil {
		return err
	}

	step("Scanning: everything is as declared")
	if err := expectExit(sh(plumb, "scan", "-n", ns, "--source", src), 0); err != nil {
		return err
	}

	step("An incident: engineers change things by hand")
	for _, args := range [][]string{
		{"scale", "deployment/web", "--replicas=5"},
		{"set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0-hotfix"},
		{"patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`},
		{"patch", "deployment/web", "--type=json", "-p", `[{"op":"add","path":"/spec/template/spec/containers/0/env/-","value":{"name":"DEBUG","value":"1"}}]`},
		{"label", "service/web", "team=checkout"},
		{"delete", "configmap/flags"},
		{"create", "configmap", "debug-dump", "--from-literal=level=trace"},
	} {
		if err := k(args...); err != nil {
			return err
		}
	}

	step("Scanning again: what drifted, who did it, when")
	if err := expectExit(sh(plumb, "scan", "-n", ns, "--source", src, "--unmanaged"), 1); err != nil {
		return err
	}
	step("The same as a diff, like kubectl diff")
	if err := expectExit(sh(plumb, "diff", "-n", ns, "--source", src), 1); err != nil {
		return err
	}
	step("Done. Exit codes: 0 in sync, 1 drift found, 2 error.")
	return nil
}

// expectExit checks that a command ended with the given exit code.
func expectExit(err error, want int) error {
	got := 0
	if ee, ok := err.(*exec.ExitError); ok {
		got = ee.ExitCode()
	} else if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("plumb exited %d, want %d", got, want)
	}
	return nil
}

func step(msg string) { fmt.Printf("\n\033[1m== %s\033[0m\n", msg) }
