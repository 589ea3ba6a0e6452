package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker: -X plumb.dev/plumb/internal/buildinfo.version=...
// (hack/version.sh makes the version and date the Makefile sets).
var (
	version = ""
	commit  = ""
	date    = ""
)

// devVersion is the version of a build that knows nothing better: a valid
// semantic version that sorts before every release.
const devVersion = "v0.0.0-dev"

// Info describes one build of plumb.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	// BuildDate is the time of the commit built (RFC 3339, UTC), so
	// that one commit always builds the same binary; "unknown" when the
	// build did not record it.
	BuildDate       string `json:"buildDate"`
	GoVersion       string `json:"goVersion"`
	ClientGoVersion string `json:"clientGoVersion"`
	Platform        string `json:"platform"`
}

// Get returns the build information of the running binary.
func Get() Info {
	info := Info{
		Version:   version,
		Commit:    commit,
		BuildDate: date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && info.Commit == "":
				info.Commit = s.Value
			case s.Key == "vcs.time" && info.BuildDate == "":
				info.BuildDate = s.Value
			}
		}
		for _, dep := range bi.Deps {
			if dep.Path == "k8s.io/client-go" {
				info.ClientGoVersion = dep.Version
				if dep.Replace != nil {
					info.ClientGoVersion = dep.Replace.Version
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = devVersion
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.BuildDate == "" {
		info.BuildDate = "unknown"
	}
	return info
}
