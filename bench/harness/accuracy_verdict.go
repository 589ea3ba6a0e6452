package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// verdict is what one tool said about one scenario.
type verdict struct {
	// code is the tool's exit code.
	code int
	// failed: the tool did not finish its work (exit code 2 or more, or
	// output the harness cannot read); nothing else is then counted.
	failed bool
	// reported: the tool said something differs (exit code 1).
	reported bool
	// targetReported: it reported the changed object.
	targetReported bool
	// onTarget: it reported the changed object as the change made it: for
	// plumb at a field the change made, or as missing for a deletion.
	onTarget bool
	// extraObjects are the objects reported besides the changed one; in
	// a no-op scenario, every object reported.
	extraObjects []string
	// extraFields are plumb's changes of the changed object that the
	// change did not make, as PATH (TYPE).
	extraFields []string
	// detail is why it failed, or what it reported that it should not.
	detail string
}

// plumbReport is the part of plumb scan -o json the harness reads.
type plumbReport struct {
	Findings []struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Namespace  string `json:"namespace"`
		Name       string `json:"name"`
		State      string `json:"state"`
		Changes    []struct {
			Path    string `json:"path"`
			Type    string `json:"type"`
			Desired any    `json:"desired"`
			Live    any    `json:"live"`
			Manager string `json:"manager"`
		} `json:"changes"`
	} `json:"findings"`
	Errors []json.RawMessage `json:"errors"`
}

// classifyPlumb reads plumb scan -o json's exit code and output for
// scenario p.
func classifyPlumb(code int, stdout []byte, p plan) verdict {
	v := verdict{code: code}
	var r plumbReport
	rerr := json.Unmarshal(stdout, &r)
	if code > 1 || code < 0 {
		// With -o json, the errors are in the report, not on stderr.
		v.failed, v.detail = true, fmt.Sprintf("exit %d", code)
		for _, e := range r.Errors {
			var m struct{ Object, Message string }
			if json.Unmarshal(e, &m) == nil {
				v.detail += fmt.Sprintf("; %s: %s", m.Object, m.Message)
			}
		}
		return v
	}
	if rerr != nil {
		v.failed, v.detail = true, "unreadable report: "+rerr.Error()
		return v
	}
	v.reported = code == 1
	for _, f := range r.Findings {
		gv, _ := schema.ParseGroupVersion(f.APIVersion)
		key := objectKey{Group: gv.Group, Kind: f.Kind, Namespace: f.Namespace, Name: f.Name}
		if p.target == nil || key != p.target.key {
			v.extraObjects = append(v.extraObjects, describeFinding(key, f.State, len(f.Changes)))
			continue
		}
		v.targetReported = true
		if p.missing && f.State == "missing" {
			v.onTarget = true
		}
		for _, c := range f.Changes {
			if !p.missing && underAny(c.Path, p.fields) {
				v.onTarget = true
				continue
			}
			v.extraFields = append(v.extraFields, fmt.Sprintf("%s (%s%s)", c.Path, c.Type, byManager(c.Manager)))
		}
		if !p.missing && f.State != "drifted" {
			v.extraFields = append(v.extraFields, "state "+f.State)
		}
	}
	if v.reported && len(r.Findings) == 0 {
		v.detail = "exit 1 without findings"
	}
	return v
}

func describeFinding(key objectKey, state string, changes int) string {
	if changes == 0 {
		return fmt.Sprintf("%s (%s)", key, state)
	}
	return fmt.Sprintf("%s (%s, %d changes)", key, state, changes)
}

func byManager(m string) string {
	if m == "" {
		return ""
	}
	return ", by " + m
}

// underAny reports whether path is one of prefixes or below one.
func underAny(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p) && strings.ContainsAny(path[len(p):len(p)+1], ".[") {
			return true
		}
	}
	return false
}

// classifyKubectl reads kubectl diff's exit code and output for scenario
// p. names maps kubectl diff's file names (object.kubectlDiffName) to the
// set's objects; a file it does not know is reported as it is.
func classifyKubectl(code int, stdout []byte, p plan, names map[string]objectKey) verdict {
	v := verdict{code: code}
	if code > 1 || code < 0 {
		v.failed, v.detail = true, fmt.Sprintf("exit %d", code)
		return v
	}
	v.reported = code == 1
	seen := map[string]bool{}
	for _, file := range diffedFiles(stdout) {
		if seen[file] {
			continue
		}
		seen[file] = true
		key, known := names[file]
		switch {
		case known && p.target != nil && key == p.target.key:
			v.targetReported, v.onTarget = true, true
		case known:
			v.extraObjects = append(v.extraObjects, key.String())
		default:
			v.extraObjects = append(v.extraObjects, file)
		}
	}
	if v.reported && len(seen) == 0 {
		v.detail = "exit 1 without a diff"
	}
	return v
}

// diffedFiles are the file names in the "diff -u -N LIVE/NAME MERGED/NAME"
// lines kubectl diff prints before each object's diff.
func diffedFiles(out []byte) []string {
	var files []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "diff ") {
			continue
		}
		fields := strings.Fields(line)
		files = append(files, path.Base(fields[len(fields)-1]))
	}
	return files
}

// score is a scenario's result for one tool, as the tables count it.
type score string

const (
	scoreFound      score = "found"
	scoreMissed     score = "missed"
	scoreClean      score = "clean"
	scoreFalseAlarm score = "false alarm"
	scoreError      score = "error"
)

// scoreOf is what v counts as for a change of kind k.
func scoreOf(k changeKind, v verdict) score {
	switch {
	case v.failed:
		return scoreError
	case k == kindDrift && v.reported && v.onTarget:
		return scoreFound
	case k == kindDrift:
		return scoreMissed
	case v.reported:
		return scoreFalseAlarm
	}
	return scoreClean
}

// cell is a verdict as a table shows it: its score, and in a drift
// scenario the objects and fields reported besides the change.
func cell(k changeKind, v verdict) string {
	s := string(scoreOf(k, v))
	var extra []string
	if n := len(v.extraObjects); n > 0 && k == kindDrift {
		extra = append(extra, plural(n, "other object"))
	}
	if n := len(v.extraFields); n > 0 && k == kindDrift {
		extra = append(extra, plural(n, "other field"))
	}
	if k == kindNoop && v.reported && !v.failed {
		extra = append(extra, plural(falseObjects(k, v), "object"))
	}
	if len(extra) > 0 {
		s += " (+" + strings.Join(extra, ", +") + ")"
		if k == kindNoop {
			s = strings.Replace(s, "(+", "(", 1)
		}
	}
	return s
}

// falseObjects counts the objects v reported that the change did not
// touch, or in a no-op scenario every object it reported.
func falseObjects(k changeKind, v verdict) int {
	if v.failed || !v.reported {
		return 0
	}
	n := len(v.extraObjects)
	if k == kindNoop && v.targetReported {
		n++
	}
	return n
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
