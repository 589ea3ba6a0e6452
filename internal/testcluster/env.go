package testcluster

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ContextName is the kubeconfig context the environment writes.
const ContextName = "envtest"

// Env is a running control plane.
type Env struct {
	// Config reaches the API server as a cluster administrator.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file whose current context,
	// ContextName, reaches the same API server.
	Kubeconfig string
	// Context is the name of the context in Kubeconfig.
	Context string
	// AssetsDir holds kube-apiserver, etcd and kubectl.
	AssetsDir string
	// Clientset is a typed client for Config.
	Clientset *kubernetes.Clientset

	env     *envtest.Environment
	tempDir string
	nsSeq   atomic.Int64
}

// Main starts a control plane, stores it in *env, runs the package's tests and
// stops it, then exits with the tests' code. Call it from TestMain. The
// tests' state directory ($XDG_STATE_HOME, where plumb keeps its default
// store) is a temporary one, never the user's.
func Main(m *testing.M, env **Env) {
	state, err := os.MkdirTemp("", "plumb-state-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: %v\n", err)
		os.Exit(2)
	}
	os.Setenv("XDG_STATE_HOME", state)
	e, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: %v\n", err)
		os.Exit(2)
	}
	*env = e
	code := m.Run()
	_ = os.RemoveAll(state)
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: stop: %v\n", err)
		if code == 0 {
			code = 2
		}
	}
	os.Exit(code)
}

// Options shape a control plane.
type Options struct {
	// APIServerFlags are kube-apiserver flags set on top of envtest's, by
	// name without dashes (audit-policy-file, audit-webhook-config-file,
	// …). Default none.
	APIServerFlags map[string]string
}

// Start starts a control plane. Stop it with Stop.
func Start() (*Env, error) { return StartWith(Options{}) }

// StartWith starts a control plane shaped by opts. Stop it with Stop.
func StartWith(opts Options) (*Env, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	tempDir, err := os.MkdirTemp("", "plumb-testcluster-")
	if err != nil {
		return nil, err
	}
	te := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	// A cert folder of our own, not envtest's temporary one, which its
	// Stop removes: RestartAPIServer then serves the same certificate, so
	// kubeconfigs written before a restart still work after it.
	certDir := filepath.Join(tempDir, "apiserver")
	if err := os.Mkdir(certDir, 0o700); err != nil {
		_ = os.RemoveAll(tempDir)
		return nil, err
	}
	te.ControlPlane.APIServer = &envtest.APIServer{CertDir: certDir}
	for name, value := range opts.APIServerFlags {
		te.ControlPlane.APIServer.Configure().Set(name, value)
	}
	te.ControlPlane.Etcd = &envtest.Etcd{}
	for path, name := range map[*string]string{&te.ControlPlane.APIServer.Path: "kube-apiserver", &te.ControlPlane.Etcd.Path: "etcd"} {
		if *path, err = diesWithParent(tempDir, filepath.Join(assets, name)); err != nil {
			_ = os.RemoveAll(tempDir)
			return nil, err
		}
	}
	cfg, err := te.Start()
	if err != nil {
		_ = os.RemoveAll(tempDir)
		return nil, fmt.Errorf("start kube-apiserver and etcd from %s: %w", assets, err)
	}
	// Tests do bulk work; client-go's default 5 QPS would make them slow,
	// not more correct.
	cfg.QPS, cfg.Burst = 200, 400

	e := &Env{Config: cfg, Context: ContextName, AssetsDir: assets, env: te, tempDir: tempDir}
	e.Clientset, err = kubernetes.NewForConfig(cfg)
	if err == nil {
		e.Kubeconfig, err = writeKubeconfig(filepath.Join(tempDir, "kubeconfig"), cfg)
	}
	if err != nil {
		_ = e.Stop()
		return nil, err
	}
	return e, nil
}

// diesWithParent returns the path of a script, written into dir, that runs
// binary with SIGKILL as its parent-death signal (util-linux's setpriv), so
// a process killed from outside (a test binary by its timeout, the demo by
// kill -9) takes its kube-apiserver and etcd with it instead of leaving them
// running. SIGKILL, because an orphaned kube-apiserver's graceful shutdown
// did not end within a minute of SIGTERM, and an orphan's data is scratch.
// The script execs, so the process envtest starts and stops is the binary
// itself. Without setpriv, binary is returned as it is.
func diesWithParent(dir, binary string) (string, error) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		return binary, nil
	}
	script := filepath.Join(dir, filepath.Base(binary))
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	body := "#!/bin/sh\nexec " + quote(setpriv) + " --pdeathsig KILL " + quote(binary) + " \"$@\"\n"
	return script, os.WriteFile(script, []byte(body), 0o755)
}

// Stop stops the control plane and removes the environment's files.
func (e *Env) Stop() error {
	err := e.env.Stop()
	if rmErr := os.RemoveAll(e.tempDir); err == nil {
		err = rmErr
	}
	return err
}

// RestartAPIServer stops the kube-apiserver (SIGTERM, as a rolling
// upgrade does) and starts it again on the same port, certificates and
// etcd, so clients reconnect to the same data; it returns once it is
// healthy again. etcd keeps running.
//
// A kube-apiserver that still serves watches waits up to its shutdown
// timeout (60 s) for them to end before it exits, and envtest kills it
// when that is longer than ControlPlaneStopTimeout (1 min): give it
// shutdown-watch-termination-grace-period (Options.APIServerFlags), as
// the soak does, to end them itself.
func (e *Env) RestartAPIServer() error {
	s := e.env.ControlPlane.APIServer
	if err := s.Stop(); err != nil {
		return fmt.Errorf("stop kube-apiserver: %w", err)
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("start kube-apiserver again: %w", err)
	}
	return nil
}

// Namespace creates a namespace for one test and deletes it when the test
// ends. Its name is derived from the test's name, so logs say whose it is.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	name := namespaceName(t.Name(), e.nsSeq.Add(1))
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := e.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		// envtest runs no namespace controller, so the namespace stays
		// Terminating; its name is never reused, so that does no harm.
		_ = e.Clientset.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// Kubectl runs the pinned kubectl against the environment with args and
// returns its standard output. stdin, if not empty, is passed to it. The test
// fails if kubectl does.
func (e *Env) Kubectl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := e.KubectlErr(stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// KubectlErr is Kubectl for callers that expect failure or are not tests.
func (e *Env) KubectlErr(stdin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(e.AssetsDir, "kubectl"), append([]string{"--kubeconfig", e.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// User returns the path of a kubeconfig for a new user of the control plane
// who belongs to groups (none but system:authenticated when none are
// given): RBAC gives them nothing until a test binds a role to name. The
// file is removed when the test ends.
func (e *Env) User(t testing.TB, name string, groups ...string) string {
	t.Helper()
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, e.Config)
	if err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	path, err := writeKubeconfig(filepath.Join(t.TempDir(), "kubeconfig-"+name), u.Config())
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// namespaceName turns a test name into a valid, unique namespace name.
func namespaceName(test string, seq int64) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if s := b.String(); s != "" && !strings.HasSuffix(s, "-") {
				b.WriteByte('-')
			}
		}
	}
	base := strings.Trim(b.String(), "-")
	suffix := fmt.Sprintf("-%d", seq)
	if max := 63 - len(suffix); len(base) > max {
		base = strings.TrimRight(base[:max], "-")
	}
	if base == "" {
		base = "test"
	}
	return base + suffix
}

func writeKubeconfig(path string, cfg *rest.Config) (string, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[ContextName] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[ContextName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.BearerToken,
	}
	kc.Contexts[ContextName] = &clientcmdapi.Context{Cluster: ContextName, AuthInfo: ContextName, Namespace: "default"}
	kc.CurrentContext = ContextName
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return path, nil
}

// AssetsDir finds the folder with kube-apiserver, etcd and kubectl:
// KUBEBUILDER_ASSETS if set, else the cache folder hack/k8s/assets.sh fills
// for the Kubernetes version pinned in hack/k8s/go.mod.
func AssetsDir() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, checkAssets(dir)
	}
	version, err := pinnedVersion()
	if err != nil {
		return "", err
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache")
	}
	dir := filepath.Join(cache, "plumb", "k8s-"+strings.TrimPrefix(version, "v"))
	return dir, checkAssets(dir)
}

func checkAssets(dir string) error {
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return fmt.Errorf("control plane binary %s missing from %s: run `make test` or hack/k8s/assets.sh, or set KUBEBUILDER_ASSETS", bin, dir)
		}
	}
	return nil
}

// pinnedVersion reads the k8s.io/kubernetes version from hack/k8s/go.mod,
// found relative to this source file.
func pinnedVersion() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate hack/k8s/go.mod: set KUBEBUILDER_ASSETS")
	}
	gomod := filepath.Join(filepath.Dir(file), "..", "..", "hack", "k8s", "go.mod")
	f, err := os.Open(gomod)
	if err != nil {
		return "", fmt.Errorf("read pinned Kubernetes version: %w (set KUBEBUILDER_ASSETS)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "require" && fields[1] == "k8s.io/kubernetes" {
			return fields[2], nil
		}
	}
	return "", fmt.Errorf("%s: no `require k8s.io/kubernetes` line", gomod)
}
