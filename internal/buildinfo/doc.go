// Package buildinfo reports what a plumb binary was built from: its version
// and commit (stamped by the linker, see the Makefile), the Go toolchain, and
// the client-go module it talks to clusters with.
//
// The version and commit default to what the Go toolchain recorded in the
// binary (the module version for `go install`, the VCS revision for builds
// from a checkout), so a binary built without the Makefile still says where it
// came from.
//
// It must not read anything at run time beyond what the binary carries: no
// files, no network.
package buildinfo
