package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker: -X plumb.dev/plumb/internal/buildinfo.version=...
var (
	version = ""
	commit  = ""
)

// Info describes one build of plumb.
type Info struct {
	Version         string `json:"version"`
	Commit          string `json:"commit"`
	GoVersion       string `json:"goVersion"`
	ClientGoVersion string `json:"clientGoVersion"`
	Platform        string `json:"platform"`
}

// Get returns the build information of the running binary.
func Get() Info {
	info := Info{
		Version:   version,
		Commit:    commit,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && info.Commit == "" {
				info.Commit = s.Value
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
		info.Version = "devel"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}
