package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// schemaDir holds the JSON Schemas of plumb's machine documents, as
// published (docs/cli.md, "Machine output").
const schemaDir = "../../docs/schemas"

// schemaBase is the $id every published schema is under.
const schemaBase = "https://plumb.dev/schemas/"

var schemas = struct {
	once     sync.Once
	compiler *jsonschema.Compiler
	err      error
	mu       sync.Mutex // guards compiled and the compiler
	compiled map[string]*jsonschema.Schema
}{compiled: map[string]*jsonschema.Schema{}}

// compiledSchema compiles the published schema name (report, check, history,
// version, skew, plan), or "sarif" for the SARIF 2.1.0 schema in testdata.
func compiledSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	schemas.once.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		files, err := filepath.Glob(filepath.Join(schemaDir, "*.schema.json"))
		if err == nil && len(files) == 0 {
			err = os.ErrNotExist
		}
		files = append(files, filepath.Join("testdata", "sarif-schema-2.1.0.json"))
		for _, f := range files {
			if err != nil {
				break
			}
			var b []byte
			if b, err = os.ReadFile(f); err != nil {
				break
			}
			var doc any
			if doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(b)); err != nil {
				break
			}
			url := schemaBase + filepath.Base(f)
			err = c.AddResource(url, doc)
		}
		schemas.compiler, schemas.err = c, err
	})
	if schemas.err != nil {
		t.Fatalf("loading the schemas: %v", schemas.err)
	}
	file := name + ".schema.json"
	if name == "sarif" {
		file = "sarif-schema-2.1.0.json"
	}
	schemas.mu.Lock()
	defer schemas.mu.Unlock()
	if s, ok := schemas.compiled[file]; ok {
		return s
	}
	s, err := schemas.compiler.Compile(schemaBase + file)
	if err != nil {
		t.Fatalf("schema %s: %v", file, err)
	}
	schemas.compiled[file] = s
	return s
}

// validate reports why doc (JSON, or YAML when it does not start with
// "{") is not a valid document of schema name; nil when it is.
func validate(t *testing.T, name, doc string) error {
	t.Helper()
	b := []byte(doc)
	if !strings.HasPrefix(strings.TrimSpace(doc), "{") {
		var err error
		if b, err = yaml.YAMLToJSON(b); err != nil {
			return err
		}
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return compiledSchema(t, name).Validate(v)
}

// requireSchema fails the test unless doc is a valid document of schema
// name: what a command printed is what its published schema says.
func requireSchema(t *testing.T, name, doc string) {
	t.Helper()
	if err := validate(t, name, doc); err != nil {
		t.Fatalf("output is not a valid %s document: %v\n%s", name, err, doc)
	}
}

// rfc3339Zoned reports whether s is an RFC 3339 time with its zone.
func rfc3339Zoned(s string) bool {
	return regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`).MatchString(s)
}

// TestSchemasRefuseWrongDocuments: each published schema takes a right
// document and refuses a wrong one (a field missing, one too many, a
// value out of its set, a time without its zone), so a test that
// validates a command's output against it can fail.
func TestSchemasRefuseWrongDocuments(t *testing.T) {
	const (
		report     = `{"apiVersion": "plumb.dev/v1alpha1", "kind": "Report", "summary": {"objects": 1, "inSync": 0, "drifted": 1, "missing": 0, "unmanaged": 0}, "clusters": [{"name": "c", "status": "ok"}], "findings": [{"cluster": "c", "apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web", "state": "drifted", "source": {"path": "deploy/web.yaml", "line": 3}, "changes": [{"path": ".spec.replicas", "type": "modified", "desired": 2, "live": 5, "time": "2026-12-05T17:00:00Z"}]}], "errors": []}`
		check      = `{"apiVersion": "plumb.dev/v1alpha1", "kind": "CheckResult", "violations": [{"rule": "scale-to-zero", "severity": "deny", "kind": "Deployment", "namespace": "shop", "name": "web", "message": "m", "affected": 0, "source": {"path": "deploy/web.yaml", "line": 3}}]}`
		history    = `{"apiVersion": "plumb.dev/v1alpha1", "kind": "History", "runs": [{"id": 1, "time": "2026-12-05T17:00:00.123Z", "finishedAt": "2026-12-05T17:00:01+01:00", "user": "alice", "command": "fix", "outcome": "applied", "clusters": ["c"], "objects": 1}]}`
		historyRun = `{"apiVersion": "plumb.dev/v1alpha1", "kind": "HistoryRun", "id": 1, "time": "2026-12-05T17:00:00Z", "finishedAt": "2026-12-05T17:00:01Z", "user": "alice", "command": "fix", "outcome": "applied", "clusters": ["c"], "objects": 1, "plan": {}, "steps": [{"cluster": "c", "apiVersion": "v1", "kind": "ConfigMap", "name": "x", "action": "apply", "outcome": "applied"}]}`
		breakGlass = `{"apiVersion": "plumb.dev/v1alpha1", "kind": "BreakGlassHistory", "writes": [{"id": 1, "time": "2026-12-05T17:00:00Z", "cluster": "c", "apiVersion": "v1", "kind": "ConfigMap", "name": "x", "user": "carol", "groups": [], "reason": "r", "operation": "UPDATE", "paths": [".data.a"]}]}`
		version    = `{"version": "v1.2.3", "commit": "abc", "buildDate": "2026-12-05T17:00:00Z", "goVersion": "go1.26.8", "clientGoVersion": "v0.35.0", "platform": "linux/amd64"}`
		sarif      = `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "plumb", "rules": [{"id": "scale-to-zero"}]}}, "results": [{"ruleId": "scale-to-zero", "ruleIndex": 0, "level": "error", "message": {"text": "m"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "deploy/web.yaml"}, "region": {"startLine": 3}}}]}]}]}`
		plan       = `{"apiVersion": "plumb.dev/v1alpha1", "kind": "Plan", "steps": [{"cluster": "c", "apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web", "action": "apply", "risk": "medium", "changes": [{"path": ".spec.replicas", "type": "modified", "desired": 2, "live": 5, "manager": "kubectl", "time": "2026-12-05T17:00:00Z", "risk": "medium"}], "resourceVersion": "42", "uid": "u", "manager": "kubectl"}], "refusals": [{"guardrail": "max-risk", "object": "Deployment shop/web", "reason": "r"}], "skipped": [{"object": "Secret shop/s", "reason": "r"}], "errors": [{"path": "deploy/x.yaml", "line": 3, "message": "m"}], "leftInPlace": [{"cluster": "c", "object": "Deployment shop/web", "path": ".metadata.labels.x", "type": "added", "live": "y", "manager": "m"}], "results": [{"step": {"cluster": "c", "apiVersion": "v1", "kind": "ConfigMap", "name": "x", "action": "create", "risk": "medium"}, "outcome": "applied"}], "run": 1}`
		emptyPlan  = `{"apiVersion": "plumb.dev/v1alpha1", "kind": "Plan", "steps": [], "refusals": [], "errors": []}`
		waves      = `"waves": [{"wave": "canary", "cluster": "c", "status": "fixed", "startedAt": "2026-12-05T17:00:00Z", "finishedAt": "2026-12-05T17:00:01Z"}], `
		rollout    = `{"apiVersion": "plumb.dev/v1alpha1", "kind": "Rollout", "run": 2, ` + waves + `"stopped": "s", "left": ["rest"], "unassigned": ["d"], "plan": ` + emptyPlan + `, "results": [{"step": {"cluster": "c", "apiVersion": "v1", "kind": "ConfigMap", "name": "x", "action": "restore", "risk": "low"}, "outcome": "failed", "message": "m"}]}`
		skew       = `{"apiVersion": "plumb.dev/v1alpha1", "kind": "SkewReport", "groups": [{"name": "all", "clusters": ["a", "b"], "objects": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "differences": [{"path": ".spec.replicas", "values": {"a": 2, "b": null}, "drifted": ["b"]}]}]}]}`
	)
	tests := []struct {
		schema, name, doc string
		valid             bool
	}{
		{"report", "right", report, true},
		{"report", "another kind", strings.Replace(report, `"Report"`, `"CheckResult"`, 1), false},
		{"report", "another apiVersion", strings.Replace(report, `plumb.dev/v1alpha1`, `plumb.dev/v2`, 1), false},
		{"report", "no errors", strings.Replace(report, `, "errors": []`, ``, 1), false},
		{"report", "a field too many", strings.Replace(report, `"errors": []`, `"errors": [], "extra": 1`, 1), false},
		{"report", "an unknown state", strings.Replace(report, `"state": "drifted"`, `"state": "gone"`, 1), false},
		{"report", "a line 0", strings.Replace(report, `"line": 3`, `"line": 0`, 1), false},
		{"report", "a change time without its zone", strings.Replace(report, `17:00:00Z`, `17:00:00`, 1), false},
		{"check", "right", check, true},
		{"check", "as YAML", "apiVersion: plumb.dev/v1alpha1\nkind: CheckResult\nviolations: []\n", true},
		{"check", "no source", strings.Replace(check, `, "source": {"path": "deploy/web.yaml", "line": 3}`, ``, 1), true},
		{"check", "a source without a path", strings.Replace(check, `"path": "deploy/web.yaml", `, ``, 1), false},
		{"check", "severity error", strings.Replace(check, `"deny"`, `"error"`, 1), false},
		{"check", "no affected", strings.Replace(check, `"affected": 0, `, ``, 1), false},
		{"check", "a field too many in a violation", strings.Replace(check, `"message": "m"`, `"message": "m", "file": "x"`, 1), false},
		{"check", "the report's kind", strings.Replace(check, `"CheckResult"`, `"Report"`, 1), false},
		{"history", "right", history, true},
		{"history", "one run", historyRun, true},
		{"history", "break-glass writes", breakGlass, true},
		{"history", "the old bare list", `[]`, false},
		{"history", "a time without its zone", strings.Replace(history, `17:00:00.123Z`, `17:00:00.123`, 1), false},
		{"history", "a local time", strings.Replace(history, `2026-12-05T17:00:00.123Z`, `2026-12-05 17:00:00`, 1), false},
		{"history", "runs under kind HistoryRun", strings.Replace(history, `"History"`, `"HistoryRun"`, 1), false},
		{"history", "a field too many in a run", strings.Replace(history, `"objects": 1`, `"objects": 1, "extra": true`, 1), false},
		{"history", "a field too many in one run", strings.Replace(historyRun, `"objects": 1`, `"objects": 1, "extra": true`, 1), false},
		{"history", "a step's unknown outcome", strings.Replace(historyRun, `"outcome": "applied"}`, `"outcome": "done"}`, 1), false},
		{"history", "no apiVersion", strings.Replace(breakGlass, `"apiVersion": "plumb.dev/v1alpha1", `, ``, 1), false},
		{"version", "right", version, true},
		{"version", "an unknown build date", strings.Replace(version, `2026-12-05T17:00:00Z`, `unknown`, 1), true},
		{"version", "not a semantic version", strings.Replace(version, `v1.2.3`, `1.2`, 1), false},
		{"version", "a field too many", strings.Replace(version, `"platform"`, `"os": "linux", "platform"`, 1), false},
		{"skew", "right", skew, true},
		{"skew", "no groups", `{"apiVersion": "plumb.dev/v1alpha1", "kind": "SkewReport"}`, false},
		{"skew", "a difference without drifted", strings.Replace(skew, `, "drifted": ["b"]`, ``, 1), false},
		{"plan", "right", plan, true},
		{"plan", "nothing to do", emptyPlan, true},
		{"plan", "no kind", strings.Replace(plan, `"kind": "Plan", `, ``, 1), false},
		{"plan", "no apiVersion", strings.Replace(plan, `"apiVersion": "plumb.dev/v1alpha1", `, ``, 1), false},
		{"plan", "another kind", strings.Replace(plan, `"Plan"`, `"Report"`, 1), false},
		{"plan", "no steps", strings.Replace(emptyPlan, `"steps": [], `, ``, 1), false},
		{"plan", "no refusals", strings.Replace(emptyPlan, `"refusals": [], `, ``, 1), false},
		{"plan", "no errors", strings.Replace(emptyPlan, `, "errors": []`, ``, 1), false},
		{"plan", "a field too many", strings.Replace(plan, `"run": 1`, `"run": 1, "extra": 1`, 1), false},
		{"plan", "run 0", strings.Replace(plan, `"run": 1`, `"run": 0`, 1), false},
		{"plan", "a step's unknown action", strings.Replace(plan, `"action": "apply"`, `"action": "patch"`, 1), false},
		{"plan", "a step without its risk", strings.Replace(plan, `"action": "apply", "risk": "medium", `, `"action": "apply", `, 1), false},
		{"plan", "a step's unknown risk", strings.Replace(plan, `"risk": "medium", "changes"`, `"risk": "severe", "changes"`, 1), false},
		{"plan", "a step without its name", strings.Replace(plan, `"name": "web", `, ``, 1), false},
		{"plan", "a field too many in a step", strings.Replace(plan, `"uid": "u"`, `"uid": "u", "extra": 1`, 1), false},
		{"plan", "a change without its risk", strings.Replace(plan, `"time": "2026-12-05T17:00:00Z", "risk": "medium"`, `"time": "2026-12-05T17:00:00Z"`, 1), false},
		{"plan", "a change's unknown type", strings.Replace(plan, `"type": "modified"`, `"type": "changed"`, 1), false},
		{"plan", "a field too many in a change", strings.Replace(plan, `"live": 5,`, `"live": 5, "extra": 1,`, 1), false},
		{"plan", "a change time without its zone", strings.Replace(plan, `17:00:00Z`, `17:00:00`, 1), false},
		{"plan", "an unknown guardrail", strings.Replace(plan, `"max-risk"`, `"max-cost"`, 1), false},
		{"plan", "a refusal without its reason", strings.Replace(plan, `"object": "Deployment shop/web", "reason": "r"`, `"object": "Deployment shop/web"`, 1), false},
		{"plan", "a skip without its reason", strings.Replace(plan, `{"object": "Secret shop/s", "reason": "r"}`, `{"object": "Secret shop/s"}`, 1), false},
		{"plan", "an error without its message", strings.Replace(plan, `"line": 3, "message": "m"`, `"line": 3`, 1), false},
		{"plan", "a field left in place without its cluster", strings.Replace(plan, `{"cluster": "c", "object": "Deployment shop/web"`, `{"object": "Deployment shop/web"`, 1), false},
		{"plan", "a field left in place with a risk", strings.Replace(plan, `"manager": "m"}`, `"manager": "m", "risk": "low"}`, 1), false},
		{"plan", "a result's unknown outcome", strings.Replace(plan, `"outcome": "applied"`, `"outcome": "done"`, 1), false},
		{"plan", "a result without its step", strings.Replace(plan, `"step": {"cluster": "c", "apiVersion": "v1", "kind": "ConfigMap", "name": "x", "action": "create", "risk": "medium"}, `, ``, 1), false},
		{"plan", "a result's step with an unknown action", strings.Replace(plan, `"action": "create"`, `"action": "upsert"`, 1), false},
		{"plan", "a rollout", rollout, true},
		{"plan", "a rollout's preview", strings.Replace(strings.Replace(rollout, `"run": 2, `, ``, 1), `"status": "fixed", "startedAt": "2026-12-05T17:00:00Z", "finishedAt": "2026-12-05T17:00:01Z"`, `"status": "pending"`, 1), true},
		{"plan", "a rollout without its kind", strings.Replace(rollout, `"kind": "Rollout", `, ``, 1), false},
		{"plan", "a rollout without its apiVersion", strings.Replace(rollout, `"apiVersion": "plumb.dev/v1alpha1", `, ``, 1), false},
		{"plan", "a rollout as kind Plan", strings.Replace(rollout, `"Rollout"`, `"Plan"`, 1), false},
		{"plan", "a plan as kind Rollout", strings.Replace(plan, `"Plan"`, `"Rollout"`, 1), false},
		{"plan", "a rollout without waves", strings.Replace(rollout, waves, ``, 1), false},
		{"plan", "a rollout without its plan", strings.Replace(rollout, `"plan": `+emptyPlan+`, `, ``, 1), false},
		{"plan", "a wave's unknown status", strings.Replace(rollout, `"status": "fixed"`, `"status": "done"`, 1), false},
		{"plan", "a wave time without its zone", strings.Replace(rollout, `17:00:01Z`, `17:00:01`, 1), false},
		{"plan", "a rollout's plan without errors", strings.Replace(rollout, `, "errors": []}`, `}`, 1), false},
		{"plan", "a rollout's plan with a run", strings.Replace(rollout, `"errors": []}`, `"errors": [], "run": 1}`, 1), false},
		{"plan", "a field too many in a rollout", strings.Replace(rollout, `"unassigned": ["d"]`, `"unassigned": ["d"], "extra": 1`, 1), false},
		{"plan", "a rollout's result with an unknown outcome", strings.Replace(rollout, `"outcome": "failed"`, `"outcome": "broken"`, 1), false},
		// The SARIF 2.1.0 schema in testdata, which -o sarif is held to.
		{"sarif", "right", sarif, true},
		{"sarif", "an unknown level", strings.Replace(sarif, `"error"`, `"fatal"`, 1), false},
		{"sarif", "line 0", strings.Replace(sarif, `"startLine": 3`, `"startLine": 0`, 1), false},
		{"sarif", "another version", strings.Replace(sarif, `"2.1.0"`, `"2.0.0"`, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.schema+"/"+tt.name, func(t *testing.T) {
			err := validate(t, tt.schema, tt.doc)
			if tt.valid && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tt.valid && err == nil {
				t.Errorf("taken:\n%s", tt.doc)
			}
		})
	}
}
