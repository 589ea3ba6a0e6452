package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/pflag"
)

// profiler implements kubectl's --profile and --profile-output flags.
type profiler struct {
	name    string
	output  string
	file    *os.File
	started bool
}

func (p *profiler) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.name, "profile", "none", "Name of profile to capture: none, cpu, heap, goroutine, threadcreate, block, mutex")
	fs.StringVar(&p.output, "profile-output", "profile.pprof", "File to write the profile to")
}

// start begins a CPU profile, or enables the sampling another profile needs.
func (p *profiler) start() error {
	switch p.name {
	case "none":
		return nil
	case "cpu":
		f, err := os.Create(p.output)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return err
		}
		p.file, p.started = f, true
		return nil
	case "block":
		runtime.SetBlockProfileRate(1)
	case "mutex":
		runtime.SetMutexProfileFraction(1)
	}
	if pprof.Lookup(p.name) == nil {
		return fmt.Errorf("--profile %q: want none, cpu, heap, goroutine, threadcreate, block or mutex", p.name)
	}
	p.started = true
	return nil
}

// stop writes the profile.
func (p *profiler) stop() error {
	switch {
	case !p.started || p.name == "none":
		return nil
	}
	switch p.name {
	case "cpu":
		pprof.StopCPUProfile()
		return p.file.Close()
	}
	f, err := os.Create(p.output)
	if err != nil {
		return err
	}
	defer f.Close()
	if p.name == "heap" {
		runtime.GC()
	}
	return pprof.Lookup(p.name).WriteTo(f, 0)
}
