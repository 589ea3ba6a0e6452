// Package testcluster gives tests a real Kubernetes control plane: a
// kube-apiserver and etcd started with controller-runtime's envtest from the
// binaries that hack/k8s/assets.sh builds (kube-apiserver and kubectl from the
// pinned k8s.io/kubernetes module, etcd from Debian).
//
// One control plane serves a whole test package. Start it from TestMain:
//
//	var env *testcluster.Env
//
//	func TestMain(m *testing.M) { testcluster.Main(m, &env) }
//
// and give each test a namespace of its own with env.Namespace(t). The
// environment also writes a kubeconfig file with a named context, so commands
// under test are driven exactly as a user drives them, and runs the pinned
// kubectl for changes made "the way an engineer would".
//
// Objects that the tests of more than one package seed alike live here too
// (fixtures.go), so that each package asserts its part of one behaviour on
// the same objects: the undeclared kinds and namespaces of plumb scan and
// serve --unmanaged (SeedUndeclaredKinds, SeedSpread, SeedControlPlane, with
// what is reported of each), and users whom RBAC gives only some reads
// (Reader, NamespacedUser).
//
// kube-apiserver and etcd die with the process that started them (through
// util-linux's setpriv), so a test binary killed by its timeout leaves no
// control plane running.
//
// The binaries are found through KUBEBUILDER_ASSETS, or else in the cache
// folder assets.sh fills (${XDG_CACHE_HOME:-~/.cache}/plumb/k8s-VERSION).
// When neither has them, the package fails loudly: a test that needs a
// cluster never silently skips.
//
// It is for tests and the benchmark harness only and must not be imported
// by plumb's binary.
package testcluster
