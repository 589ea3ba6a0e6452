package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"plumb.dev/plumb/internal/termsafe"
)

// Streams are the standard streams a command reads and writes. Tests pass
// buffers; main passes the process's own.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// globalOptions are the flags every command shares, kubectl's among them.
type globalOptions struct {
	// streams escape the control characters of what is written to them
	// (termsafe): names and values from clusters and sources are printed
	// through them. rawOut is standard output itself, for plumb diff's own
	// colours and to ask whether it is a terminal.
	streams Streams
	rawOut  io.Writer
	// rawErr is standard error itself, to ask whether it is a terminal
	// (progress is shown only there).
	rawErr io.Writer
	// noColor is --no-color: no colour anywhere, as NO_COLOR says.
	noColor bool
	// kube holds --kubeconfig, --context, -n/--namespace and kubectl's other
	// connection flags, with kubectl's precedence rules.
	kube *genericclioptions.ConfigFlags
	// output is -o/--output; each command says which formats it accepts.
	output string
	// verbosity is -v, as in kubectl.
	verbosity int
	// logger is built from verbosity before any command runs.
	logger *slog.Logger
	// warnings are the warnings a command that runs once holds back, to
	// summarise when it ends; nil for others and with -v.
	warnings *warningSummary
	// profile is kubectl's --profile.
	profile profiler
}

const rootLong = `plumb keeps Kubernetes clusters true to their declared state.

It compares what your manifests, kustomize overlays and Helm charts declare
with what is live in a cluster, confirms every difference with a server-side
apply dry-run so that server defaults never raise false alarms, and says who
changed what, with which tool, and when.

Exit codes:
  0  in sync: nothing drifted
  1  drift found
  2  an error stopped the work or left the result incomplete`

// PluginName is the binary name under which kubectl runs plumb as a
// plugin: `kubectl plumb scan ...` runs kubectl-plumb from the PATH.
// Under completionPluginName (a link to the same binary) kubectl asks it
// to complete `kubectl plumb ...` on the command line.
const (
	PluginName           = "kubectl-plumb"
	completionPluginName = "kubectl_complete-plumb"
)

// NewRootCommand builds the plumb command tree.
func NewRootCommand(streams Streams) *cobra.Command {
	cmd, _ := newRoot(streams)
	return cmd
}

func newRoot(streams Streams) (*cobra.Command, *globalOptions) {
	raw, rawErr := streams.Out, streams.ErrOut
	streams.Out, streams.ErrOut = termsafe.NewWriter(streams.Out), termsafe.NewWriter(streams.ErrOut)
	g := &globalOptions{
		streams: streams,
		rawOut:  raw,
		rawErr:  rawErr,
		kube:    genericclioptions.NewConfigFlags(true),
	}
	cmd := &cobra.Command{
		Use:           "plumb",
		Short:         "Find, explain and repair drift in Kubernetes clusters",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			g.logger, g.warnings = newLogger(streams.ErrOut, g.verbosity, cmd.Annotations[summariseAnnotation] == "true")
			// The API server's warnings, once each, as kubectl prints them.
			rest.SetDefaultWarningHandler(warningWriter(streams.ErrOut))
			return g.profile.start()
		},
		// Without a subcommand, print help rather than doing something surprising.
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)

	flags := cmd.PersistentFlags()
	g.kube.AddFlags(flags)
	flags.StringVarP(&g.output, "output", "o", "", "Output format; each command lists the formats it accepts")
	flags.IntVarP(&g.verbosity, "v", "v", 0, "Log verbosity: 0 warnings and errors, 1 progress, 2 debug, 6 and more API requests")
	flags.BoolVar(&g.noColor, "no-color", false, "Never colour output (as NO_COLOR does); colour is used only on a terminal")
	g.profile.addFlags(flags)

	cmd.AddCommand(
		newVersionCommand(g),
		newScanCommand(g),
		newDiffCommand(g),
		newSkewCommand(g),
		newCheckCommand(g),
		newServeCommand(g),
		newAgentCommand(g),
		newFixCommand(g),
		newSnapshotCommand(g),
		newHistoryCommand(g),
		newConfigCommand(g),
	)
	registerCompletions(cmd, g)
	return cmd, g
}

// Execute runs plumb with args and returns the process exit code.
func Execute(ctx context.Context, args []string, streams Streams) int {
	return ExecuteAs(ctx, "plumb", args, streams)
}

// ExecuteAs runs plumb, invoked under the binary name name, with args and
// returns the process exit code. As PluginName, its help and completion
// speak of `kubectl plumb`, as kubectl runs it; as completionPluginName it
// completes args.
func ExecuteAs(ctx context.Context, name string, args []string, streams Streams) int {
	cmd, g := newRoot(streams)
	switch name {
	case completionPluginName:
		args = append([]string{cobra.ShellCompRequestCmd}, args...)
		fallthrough
	case PluginName:
		cmd.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl plumb"}
	}
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if g.warnings != nil {
		g.warnings.Flush(streams.ErrOut)
	}
	if perr := g.profile.stop(); perr != nil && err == nil {
		err = fmt.Errorf("--profile-output: %w", perr)
	}
	var ee *exitError
	if err != nil && !(errors.As(err, &ee) && ee.err == nil) {
		fmt.Fprintf(streams.ErrOut, "error: %s\n", termsafe.Escape(err.Error()))
	}
	return exitCode(err)
}
