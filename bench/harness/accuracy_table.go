package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// tally counts one tool's results over scenarios.
type tally struct {
	drifts, found int
	noops         int
	// falseScenarios are no-op scenarios the tool reported; falseObjects
	// the objects it reported that no change touched, in any scenario.
	falseScenarios, falseObjects int
	// extraFields are plumb's changes of a changed object the change did
	// not make.
	extraFields int
	errors      int
	walls       []time.Duration
}

func (t *tally) add(k changeKind, v verdict, wall time.Duration) {
	switch k {
	case kindDrift:
		t.drifts++
	case kindNoop:
		t.noops++
	}
	switch scoreOf(k, v) {
	case scoreFound:
		t.found++
	case scoreFalseAlarm:
		t.falseScenarios++
	case scoreError:
		t.errors++
		return
	}
	t.falseObjects += falseObjects(k, v)
	if k == kindDrift && v.reported {
		t.extraFields += len(v.extraFields)
	}
	t.walls = append(t.walls, wall)
}

func (t *tally) merge(o tally) {
	t.drifts += o.drifts
	t.found += o.found
	t.noops += o.noops
	t.falseScenarios += o.falseScenarios
	t.falseObjects += o.falseObjects
	t.extraFields += o.extraFields
	t.errors += o.errors
	t.walls = append(t.walls, o.walls...)
}

func medianDuration(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond).String()
}

// printAccuracy writes a table per set (each change on each deploy mode,
// what each tool made of it), a summary per set with totals, and the
// false alarms and errors spelt out.
func printAccuracy(w io.Writer, results []setResult, took time.Duration) {
	var totalP, totalK tally
	type row struct {
		name                      string
		objects, scenarios, skips int
		p, k                      tally
		notes                     []string
	}
	var rows []row
	for _, res := range results {
		rw := row{name: res.set.name, objects: res.objects}
		fmt.Fprintf(w, "### %s (%s, %d objects)\n\n", res.set.name, res.set.form, res.objects)
		header := "| change | kind |"
		sep := "|---|---|"
		for _, m := range res.modes {
			header += fmt.Sprintf(" %s: plumb | %s: kubectl diff |", m.mode, m.mode)
			sep += "---|---|"
		}
		fmt.Fprintln(w, header)
		fmt.Fprintln(w, sep)
		// Rows follow the changes of the first mode that ran them all.
		var names []change
		for _, m := range res.modes {
			if len(m.scenarios) > len(names) {
				names = names[:0]
				for _, s := range m.scenarios {
					names = append(names, s.change)
				}
			}
		}
		for _, c := range names {
			line := fmt.Sprintf("| %s | %s |", c.name, c.kind)
			for _, m := range res.modes {
				s, ok := findScenario(m.scenarios, c.name)
				switch {
				case !ok:
					line += " – | – |"
				case s.skipped:
					line += " n/a | n/a |"
				case s.changeErr != "":
					line += " change failed | change failed |"
				default:
					line += fmt.Sprintf(" %s | %s |", cell(c.kind, s.plumb), cell(c.kind, s.kubectl))
				}
			}
			fmt.Fprintln(w, line)
		}
		fmt.Fprintln(w)
		for _, m := range res.modes {
			if m.err != "" {
				fmt.Fprintf(w, "%s: %s\n\n", m.mode, oneLine(m.err))
				rw.notes = append(rw.notes, fmt.Sprintf("%s %s: stopped: %s", res.set.name, m.mode, oneLine(m.err)))
			}
			for _, s := range m.scenarios {
				switch {
				case s.skipped:
					rw.skips++
					continue
				case s.changeErr != "":
					rw.notes = append(rw.notes, fmt.Sprintf("%s %s %s: change failed: %s", res.set.name, m.mode, s.change.name, oneLine(s.changeErr)))
					continue
				}
				rw.scenarios++
				rw.p.add(s.change.kind, s.plumb, s.plumbWall)
				rw.k.add(s.change.kind, s.kubectl, s.kubectlWall)
				rw.notes = append(rw.notes, scenarioNotes(res.set.name, m.mode, s)...)
			}
		}
		totalP.merge(rw.p)
		totalK.merge(rw.k)
		rows = append(rows, rw)
	}

	fmt.Fprintf(w, "### Summary\n\n")
	fmt.Fprintln(w, "| set | objects | scenarios | drifts found: plumb | drifts found: kubectl diff | no-ops reported (false alarms): plumb | no-ops reported: kubectl diff | objects reported that no change touched: plumb | …: kubectl diff | other fields of the changed object: plumb | errors: plumb | errors: kubectl diff | plumb scan (median) | kubectl diff --server-side (median) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	line := func(name, objects string, scenarios int, p, k tally) {
		fmt.Fprintf(w, "| %s | %s | %d | %d of %d | %d of %d | %d of %d | %d of %d | %d | %d | %d | %d | %d | %s | %s |\n",
			name, objects, scenarios, p.found, p.drifts, k.found, k.drifts, p.falseScenarios, p.noops, k.falseScenarios, k.noops,
			p.falseObjects, k.falseObjects, p.extraFields, p.errors, k.errors, medianDuration(p.walls), medianDuration(k.walls))
	}
	var scenarios, objects int
	for _, rw := range rows {
		line(rw.name, fmt.Sprint(rw.objects), rw.scenarios, rw.p, rw.k)
		scenarios += rw.scenarios
		objects += rw.objects
	}
	line("**total**", fmt.Sprint(objects), scenarios, totalP, totalK)
	fmt.Fprintf(w, "\nWhole run: %s. A scenario is (set, deploy mode, change); changes a set has no object for are left out (n/a).\n", took.Round(time.Second))

	var notes []string
	for _, rw := range rows {
		notes = append(notes, rw.notes...)
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n### What was reported that should not have been, and errors\n\n")
		for _, n := range notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
}

func findScenario(ss []scenarioResult, name string) (scenarioResult, bool) {
	for _, s := range ss {
		if s.change.name == name {
			return s, true
		}
	}
	return scenarioResult{}, false
}

// scenarioNotes spell out a scenario's false alarms, misses and errors.
func scenarioNotes(set string, mode applyMode, s scenarioResult) []string {
	var notes []string
	at := fmt.Sprintf("%s %s %s", set, mode, s.change.name)
	for _, t := range []struct {
		tool string
		v    verdict
	}{{"plumb", s.plumb}, {"kubectl diff", s.kubectl}} {
		v := t.v
		if v.failed {
			notes = append(notes, fmt.Sprintf("%s: %s error: %s", at, t.tool, oneLine(v.detail)))
			continue
		}
		if !v.reported {
			continue
		}
		var what []string
		if s.change.kind == kindNoop && v.targetReported && len(v.extraFields) == 0 {
			what = append(what, s.target)
		}
		what = append(what, v.extraObjects...)
		if len(v.extraFields) > 0 {
			what = append(what, fmt.Sprintf("%s fields %s", s.target, strings.Join(limit(v.extraFields, 6), "; ")))
		}
		if len(what) == 0 {
			continue
		}
		// kubectl diff reports every client-side applied object; three
		// names say enough.
		n := 8
		if t.tool != "plumb" {
			n = 3
		}
		notes = append(notes, fmt.Sprintf("%s: %s reported %s", at, t.tool, strings.Join(limit(what, n), ", ")))
	}
	return notes
}

// limit is the first n of ss, and how many more there are.
func limit(ss []string, n int) []string {
	if len(ss) <= n {
		return ss
	}
	return append(slices.Clone(ss[:n]), fmt.Sprintf("and %d more", len(ss)-n))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}
