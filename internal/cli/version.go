package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"plumb.dev/plumb/internal/buildinfo"
	"plumb.dev/plumb/internal/output"
)

type versionOptions struct {
	*globalOptions
}

func newVersionCommand(g *globalOptions) *cobra.Command {
	o := &versionOptions{globalOptions: g}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of plumb and what it was built with",
		Long: `Print plumb's version (a semantic version), the commit and the date it
was built from, its Go version and the client-go version it talks to
clusters with. -o json or -o yaml prints the same as data.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
}

func (o *versionOptions) Validate() error {
	switch o.output {
	case "", "json", "yaml":
		return nil
	}
	return fmt.Errorf("--output %q is not supported by version; use json or yaml", o.output)
}

func (o *versionOptions) Run() error {
	info := buildinfo.Get()
	out := o.streams.Out
	if done, err := output.Data(out, info, o.output); done {
		return err
	}
	_, err := fmt.Fprintf(out, "plumb %s\n  commit:    %s\n  built:     %s\n  go:        %s\n  client-go: %s\n  platform:  %s\n",
		info.Version, info.Commit, info.BuildDate, info.GoVersion, info.ClientGoVersion, info.Platform)
	return err
}
