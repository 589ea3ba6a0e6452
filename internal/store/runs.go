package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Run is one remediation run: its plan, who ran it, and what happened to
// every object. Before and after are whole objects as the API server
// returned them, except that Secret values are never recorded.
type Run struct {
	ID         int64     `json:"id"`
	StartedAt  time.Time `json:"time"`
	FinishedAt time.Time `json:"finishedAt"`
	// User is the Kubernetes identity the run acted as.
	User string `json:"user"`
	// Command is fix, undo, or serve (remediation by plumb serve).
	Command string `json:"command"`
	// UndoOf is the run an undo reverted.
	UndoOf   int64      `json:"undoOf,omitempty"`
	Outcome  RunOutcome `json:"outcome"`
	Clusters []string   `json:"clusters"`
	// Objects is how many objects the plan changes.
	Objects int `json:"objects"`
	// Plan is the plan as printed by plumb fix -o json. Only Run fills
	// Plan and Steps; Runs leaves them out.
	Plan  json.RawMessage `json:"plan,omitempty"`
	Steps []RunStep       `json:"steps,omitempty"`
	// Waves are a rollout's clusters, wave by wave; only Run fills them.
	Waves []RunWave `json:"waves,omitempty"`
}

// RunOutcome is what became of a whole run.
type RunOutcome string

const (
	// RunApplied: every step was applied or already as planned.
	RunApplied RunOutcome = "applied"
	// RunPartial: some steps were applied, others not.
	RunPartial RunOutcome = "partial"
	// RunFailed: no step was applied.
	RunFailed RunOutcome = "failed"
	// RunRefused: the guardrails refused the plan; nothing was applied.
	RunRefused RunOutcome = "refused"
	// RunDeclined: the plan was shown and not approved. Such a run is no
	// longer recorded (a plan writes nothing); older stores may hold some.
	RunDeclined RunOutcome = "declined"
	// RunStopped: a rollout stopped with waves left; it can be resumed.
	RunStopped RunOutcome = "stopped"
	// RunNothing: the plan had no step. Such a run is never recorded.
	RunNothing RunOutcome = "nothing"
)

// Wrote says whether a run with this outcome wrote to a cluster.
func (o RunOutcome) Wrote() bool {
	return o == RunApplied || o == RunPartial || o == RunStopped
}

// StepAction is what a step does to its object.
type StepAction string

const (
	// ActionApply re-applies the declaration over drifted fields (and,
	// when asked, removes fields added out of band).
	ActionApply StepAction = "apply"
	// ActionCreate creates a missing object.
	ActionCreate StepAction = "create"
	// ActionDelete deletes an object: an unmanaged one (--prune), or one
	// an undone run created.
	ActionDelete StepAction = "delete"
	// ActionRestore writes an object back to how a run found it (undo).
	ActionRestore StepAction = "restore"
	// ActionRecreate creates again an object a run deleted (undo).
	ActionRecreate StepAction = "recreate"
)

// StepOutcome is what became of one step.
type StepOutcome string

const (
	// StepApplied: the step was written.
	StepApplied StepOutcome = "applied"
	// StepInSync: the object was already as planned; nothing written.
	StepInSync StepOutcome = "already-in-sync"
	// StepChanged: the object changed since it was planned and now
	// needs other changes; it was left alone.
	StepChanged StepOutcome = "changed-since-planned"
	// StepConflict: other managers own fields the plan does not change.
	StepConflict StepOutcome = "conflict"
	// StepFailed: the write failed.
	StepFailed StepOutcome = "failed"
	// StepNotApplied: the plan was refused or declined.
	StepNotApplied StepOutcome = "not-applied"
)

// Done says whether the step left its object as planned: written, or
// already so.
func (o StepOutcome) Done() bool { return o == StepApplied || o == StepInSync }

// RunStep is what a run did to one object.
type RunStep struct {
	Cluster    string      `json:"cluster"`
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Namespace  string      `json:"namespace,omitempty"`
	Name       string      `json:"name"`
	Action     StepAction  `json:"action"`
	Outcome    StepOutcome `json:"outcome"`
	Message    string      `json:"message,omitempty"`
	// Before and After are the whole object before and after; absent when
	// the object did not exist.
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// RunFilter pages Runs.
type RunFilter struct {
	// Before pages: only runs with an id below it. 0 starts at the newest.
	Before int64
	// Limit bounds the page. Default 100, at most 1000.
	Limit int
}

// RunWriter records remediation runs.
type RunWriter interface {
	// RecordRun stores r and returns its id.
	RecordRun(ctx context.Context, r *Run) (int64, error)
}

// RunReader reads remediation runs.
type RunReader interface {
	// Runs lists runs, newest first, without their plans and steps.
	Runs(ctx context.Context, f RunFilter) ([]Run, error)
	// Run returns one run whole, or ErrNotFound.
	Run(ctx context.Context, id int64) (*Run, error)
}

// RecordRun implements RunWriter.
func (s *DB) RecordRun(ctx context.Context, r *Run) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var undoOf sql.NullInt64
	if r.UndoOf > 0 {
		undoOf = sql.NullInt64{Int64: r.UndoOf, Valid: true}
	}
	var id int64
	if err := s.queryRow(ctx, tx, `INSERT INTO runs (started_at, finished_at, "user", command, undo_of, outcome, clusters, objects, plan)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.StartedAt.UnixMilli(), r.FinishedAt.UnixMilli(), r.User, r.Command, undoOf, r.Outcome, joinList(r.Clusters), r.Objects, planJSON(r.Plan)).Scan(&id); err != nil {
		return 0, err
	}
	if err := s.insertSteps(ctx, tx, id, r.Steps); err != nil {
		return 0, err
	}
	if err := s.insertWaves(ctx, tx, id, r.Waves); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	r.ID = id
	return id, nil
}

const runColumns = `id, started_at, finished_at, "user", command, undo_of, outcome, clusters, objects`

// Runs implements RunReader.
func (s *DB) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	limit := pageSize(f.Limit)
	where, args := "", []any{}
	if f.Before > 0 {
		where, args = " WHERE id < ?", append(args, f.Before)
	}
	rows, err := s.query(ctx, s.db, `SELECT `+runColumns+` FROM runs`+where+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		r, err := scanRun(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// Run implements RunReader.
func (s *DB) Run(ctx context.Context, id int64) (*Run, error) {
	r, err := scanRun(s.queryRow(ctx, s.db, `SELECT `+runColumns+`, plan FROM runs WHERE id = ?`, id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, s.db, `SELECT cluster, api_version, kind, namespace, name, action, outcome, message, before, after
		FROM run_objects WHERE run_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	r.Steps = []RunStep{}
	for rows.Next() {
		var st RunStep
		var before, after sql.NullString
		if err := rows.Scan(&st.Cluster, &st.APIVersion, &st.Kind, &st.Namespace, &st.Name, &st.Action, &st.Outcome, &st.Message, &before, &after); err != nil {
			return nil, err
		}
		if before.Valid {
			st.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			st.After = json.RawMessage(after.String)
		}
		r.Steps = append(r.Steps, st)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if r.Waves, err = s.readWaves(ctx, id); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *DB) insertSteps(ctx context.Context, tx *sql.Tx, id int64, steps []RunStep) error {
	for i, st := range steps {
		if _, err := s.exec(ctx, tx, `INSERT INTO run_objects (run_id, seq, cluster, api_version, kind, namespace, name, action, outcome, message, before, after)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, i, st.Cluster, st.APIVersion, st.Kind, st.Namespace, st.Name, st.Action, st.Outcome, st.Message, nullJSON(st.Before), nullJSON(st.After)); err != nil {
			return err
		}
	}
	return nil
}

func planJSON(plan json.RawMessage) string {
	if len(plan) == 0 {
		return "{}"
	}
	return string(plan)
}

func joinList(l []string) string { return strings.Join(l, ",") }

// scanRun reads runColumns, then the plan if withPlan.
func scanRun(r scanner, withPlan bool) (*Run, error) {
	var run Run
	var started, finished int64
	var undoOf sql.NullInt64
	var clusters string
	var plan sql.NullString
	dest := []any{&run.ID, &started, &finished, &run.User, &run.Command, &undoOf, &run.Outcome, &clusters, &run.Objects}
	if withPlan {
		dest = append(dest, &plan)
	}
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	run.StartedAt, run.FinishedAt = time.UnixMilli(started).UTC(), time.UnixMilli(finished).UTC()
	run.UndoOf = undoOf.Int64
	run.Clusters = splitList(clusters)
	if plan.Valid {
		run.Plan = json.RawMessage(plan.String)
	}
	return &run, nil
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return string(b)
}
