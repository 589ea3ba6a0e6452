package drift

import "plumb.dev/plumb/internal/testcluster"

// SharedEnv is the package's test control plane, for the tests of package
// drift_test (which may import packages that import drift).
func SharedEnv() *testcluster.Env { return env }
