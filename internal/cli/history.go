package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/output"
	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/table"
)

// The documents history -o json|yaml prints, with the scan report's
// apiVersion (report.APIVersion). Times are RFC 3339 in UTC.
const (
	// historyKind lists runs, newest first: {"runs": [...]}, without
	// plans and steps.
	historyKind = "History"
	// historyRunKind is one run whole, its fields beside apiVersion and kind.
	historyRunKind = "HistoryRun"
	// breakGlassHistoryKind lists break-glass writes: {"writes": [...]}.
	breakGlassHistoryKind = "BreakGlassHistory"
)

// historyDoc is what history -o json prints without a RUN.
type historyDoc struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Runs       []store.Run `json:"runs"`
}

// historyRunDoc is what history RUN -o json prints.
type historyRunDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	store.Run
}

// breakGlassDoc is what history --break-glass -o json prints.
type breakGlassDoc struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Writes     []store.BreakGlass `json:"writes"`
}

type historyOptions struct {
	*globalOptions
	storePath  string
	configFile string
	limit      int
	before     int64
	breakGlass bool
	noHeaders  bool
}

func newHistoryCommand(g *globalOptions) *cobra.Command {
	o := &historyOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "history [RUN]",
		Short: "List remediation runs, or show one",
		Long: `List the remediation runs recorded in the store, newest first: when, who
(the Kubernetes identity), what (fix, undo, serve), how many objects, and the
outcome (applied, partial, failed, refused, stopped). With a run's id, show
what it did to each object; -o json then includes the plan and every object
before and after (Secret values are never recorded). plumb fix --undo RUN
puts a run's objects back. --break-glass lists instead the writes the
admission webhook let through because their author broke glass: who (the
authenticated user and groups), why, which declared fields, and when.

The store is --store, the configuration's, else plumb.db in
$XDG_STATE_HOME/plumb (~/.local/state/plumb when unset). history only reads
it: with no store there yet, there is no history, and none is made.`,
		Example: `  plumb history
  plumb history -o json
  plumb history 12
  plumb history --break-glass`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeRunIDs(cmd, prefix)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case o.output == "", o.output == "json", o.output == "yaml":
			case output.IsTemplate(o.output):
				if _, err := output.Template(o.output); err != nil {
					return err
				}
			default:
				return fmt.Errorf("--output %q is not supported by history; use json, yaml, jsonpath=TEMPLATE or jsonpath-file=FILE", o.output)
			}
			if o.breakGlass {
				if len(args) > 0 {
					return fmt.Errorf("--break-glass lists break-glass writes; it takes no RUN")
				}
				return o.listBreakGlass(cmd.Context())
			}
			if len(args) == 1 {
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || id < 1 {
					return fmt.Errorf("RUN %q: want a run id, as plumb history lists them", args[0])
				}
				return o.show(cmd.Context(), id)
			}
			return o.list(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.storePath, "store", "", storeFlagHelp)
	fs.StringVarP(&o.configFile, "config", "c", "", "plumb configuration file, for its store")
	fs.IntVar(&o.limit, "limit", 50, "List at most this many runs")
	fs.Int64Var(&o.before, "before", 0, "List only runs older than this run id (paging)")
	addNoHeaders(fs, &o.noHeaders)
	fs.BoolVar(&o.breakGlass, "break-glass", false, "List the writes the admission webhook let through because their author broke glass")
	return cmd
}

// open opens the store to read it; history never creates one. With no
// store yet it is nil, and says where the store would be.
func (o *historyOptions) open(ctx context.Context) (*store.DB, string, error) {
	var cfg *config.File
	if o.configFile != "" {
		var err error
		if cfg, err = config.Load(o.configFile); err != nil {
			return nil, "", err
		}
	}
	st, path, err := openExistingStore(ctx, o.storePath, cfg)
	if errors.Is(err, errNoStore) {
		return nil, path, nil
	}
	return st, path, err
}

func (o *historyOptions) list(ctx context.Context) error {
	st, path, err := o.open(ctx)
	if err != nil {
		return err
	}
	runs := []store.Run{}
	if st != nil {
		defer st.Close()
		if runs, err = st.Runs(ctx, store.RunFilter{Limit: o.limit, Before: o.before}); err != nil {
			return err
		}
	}
	if runs == nil {
		runs = []store.Run{}
	}
	if done, err := output.Data(o.streams.Out, historyDoc{APIVersion: report.APIVersion, Kind: historyKind, Runs: runs}, o.output); done {
		return err
	}
	if st == nil {
		fmt.Fprintf(o.streams.Out, "No history: no store at %s yet.\n", path)
		return nil
	}
	if len(runs) == 0 {
		fmt.Fprintln(o.streams.Out, "No runs recorded.")
		return nil
	}
	t := table.New(
		table.Column{Header: "RUN"}, table.Column{Header: "TIME"},
		table.Column{Header: "USER", Shrink: table.Middle, Order: 1},
		table.Column{Header: "COMMAND"}, table.Column{Header: "OBJECTS"}, table.Column{Header: "OUTCOME"},
		table.Column{Header: "CLUSTERS", Shrink: table.Middle},
	)
	for _, r := range runs {
		command := r.Command
		if r.UndoOf > 0 {
			command = fmt.Sprintf("undo %d", r.UndoOf)
		}
		t.CellRow(table.Cell{Text: strconv.FormatInt(r.ID, 10)}, table.Cell{Text: report.Timestamp(r.StartedAt)}, table.Cell{Text: r.User},
			table.Cell{Text: command}, table.Cell{Text: strconv.Itoa(r.Objects)},
			table.Cell{Text: string(r.Outcome), Color: runColor(r.Outcome)}, table.Cell{Text: strings.Join(r.Clusters, ",")})
	}
	return t.Write(o.rawOut, o.display(o.noHeaders))
}

func (o *historyOptions) listBreakGlass(ctx context.Context) error {
	st, path, err := o.open(ctx)
	if err != nil {
		return err
	}
	items := []store.BreakGlass{}
	if st != nil {
		defer st.Close()
		if items, err = st.BreakGlasses(ctx, store.BreakGlassFilter{Limit: o.limit, Before: o.before}); err != nil {
			return err
		}
	}
	if items == nil {
		items = []store.BreakGlass{}
	}
	if done, err := output.Data(o.streams.Out, breakGlassDoc{APIVersion: report.APIVersion, Kind: breakGlassHistoryKind, Writes: items}, o.output); done {
		return err
	}
	if st == nil {
		fmt.Fprintf(o.streams.Out, "No history: no store at %s yet.\n", path)
		return nil
	}
	if len(items) == 0 {
		fmt.Fprintln(o.streams.Out, "No break-glass writes recorded.")
		return nil
	}
	t := table.New(
		table.Column{Header: "ID"}, table.Column{Header: "TIME"},
		table.Column{Header: "CLUSTER", Shrink: table.Middle, Order: 2},
		table.Column{Header: "OBJECT", Shrink: table.Middle, Order: 2},
		table.Column{Header: "USER", Shrink: table.Middle, Order: 2},
		table.Column{Header: "OPERATION"},
		table.Column{Header: "FIELDS", Shrink: table.Start},
		table.Column{Header: "REASON", Shrink: table.Middle, Order: 1},
	)
	for _, b := range items {
		obj := b.Kind + " " + b.Name
		if b.Namespace != "" {
			obj = b.Kind + " " + b.Namespace + "/" + b.Name
		}
		t.Row(strconv.FormatInt(b.ID, 10), report.Timestamp(b.Time), b.Cluster, obj, b.User, b.Operation,
			strings.Join(b.Paths, ","), strconv.Quote(b.Reason))
	}
	return t.Write(o.rawOut, o.display(o.noHeaders))
}

func (o *historyOptions) show(ctx context.Context, id int64) error {
	st, path, err := o.open(ctx)
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("run %d is not in the store: there is no store at %s yet", id, path)
	}
	defer st.Close()
	r, err := st.Run(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("run %d is not in the store", id)
	}
	if err != nil {
		return err
	}
	if done, err := output.Data(o.streams.Out, historyRunDoc{APIVersion: report.APIVersion, Kind: historyRunKind, Run: *r}, o.output); done {
		return err
	}
	command := r.Command
	if r.UndoOf > 0 {
		command = fmt.Sprintf("undo of run %d", r.UndoOf)
	}
	fmt.Fprintf(o.streams.Out, "Run %d: %s by %s at %s, %s\n\n", r.ID, command, r.User, report.Timestamp(r.StartedAt), r.Outcome)
	opts := o.display(o.noHeaders)
	if len(r.Waves) > 0 {
		t := table.New(
			table.Column{Header: "WAVE", Shrink: table.Middle, Order: 1},
			table.Column{Header: "CLUSTER", Shrink: table.Middle, Order: 1},
			table.Column{Header: "STATUS"}, table.Column{Header: "STARTED"}, table.Column{Header: "FINISHED"},
			table.Column{Header: "MESSAGE", Shrink: table.Middle},
		)
		for _, v := range r.Waves {
			started, finished := "-", "-"
			if !v.StartedAt.IsZero() {
				started, finished = report.Timestamp(v.StartedAt), report.Timestamp(v.FinishedAt)
			}
			t.Row(v.Wave, v.Cluster, string(v.Status), started, finished, v.Message)
		}
		if err := t.Write(o.rawOut, opts); err != nil {
			return err
		}
		fmt.Fprintln(o.streams.Out)
	}
	t := table.New(
		table.Column{Header: "CLUSTER", Shrink: table.Middle, Order: 1},
		table.Column{Header: "OBJECT", Shrink: table.Middle, Order: 1},
		table.Column{Header: "ACTION"}, table.Column{Header: "OUTCOME"},
		table.Column{Header: "MESSAGE", Shrink: table.Middle},
	)
	for _, s := range r.Steps {
		obj := s.Kind + " " + s.Name
		if s.Namespace != "" {
			obj = s.Kind + " " + s.Namespace + "/" + s.Name
		}
		t.CellRow(table.Cell{Text: s.Cluster}, table.Cell{Text: obj}, table.Cell{Text: string(s.Action), Color: actionColor(s.Action)},
			table.Cell{Text: string(s.Outcome), Color: stepColor(s.Outcome)}, table.Cell{Text: s.Message})
	}
	return t.Write(o.rawOut, opts)
}

// runColor is the colour of a run's outcome.
func runColor(o store.RunOutcome) table.Color {
	switch o {
	case store.RunApplied:
		return table.Green
	case store.RunFailed:
		return table.Red
	}
	return table.Yellow
}

// stepColor is the colour of a step's outcome.
func stepColor(o store.StepOutcome) table.Color {
	switch o {
	case store.StepApplied, store.StepInSync:
		return table.Green
	case store.StepFailed:
		return table.Red
	}
	return table.Yellow
}
