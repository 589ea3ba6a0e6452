// Package realworld finds the shared folder of unmodified public manifests
// (microservices-demo, podinfo, ingress-nginx) that tests use as input. It
// lives outside the repository, in shared/testdata/real-world beside the
// checkout; a clone elsewhere (CI) finds it through PLUMB_REAL_WORLD or the
// workspace's fixed location.
//
// It is for tests only and must not be imported by plumb's binary; the
// manifests it finds must never be edited.
package realworld

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// workspace is where the shared folder is on plumb's development machines.
const workspace = "/work/shared/testdata/real-world"

// Dir returns the folder, or an error saying where it was looked for.
func Dir() (string, error) {
	var candidates []string
	if d := os.Getenv("PLUMB_REAL_WORLD"); d != "" {
		candidates = append(candidates, d)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Join(filepath.Dir(file), "..", "..")
		candidates = append(candidates, filepath.Join(root, "..", "shared", "testdata", "real-world"))
	}
	candidates = append(candidates, workspace)
	for _, c := range candidates {
		if st, err := os.Stat(filepath.Join(c, "SOURCES.md")); err == nil && !st.IsDir() {
			return filepath.Clean(c), nil
		}
	}
	return "", fmt.Errorf("real-world test data not found in %v: set PLUMB_REAL_WORLD", candidates)
}

// MustDir is Dir for package-level test variables: it panics when the data
// is missing, so the tests fail instead of skipping.
func MustDir() string {
	d, err := Dir()
	if err != nil {
		panic(err)
	}
	return d
}
