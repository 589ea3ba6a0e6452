package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/store"
)

// UndoManager is the field manager undo writes as. Undo then gives the
// object back the field owners it had (restoreOwnership), so a re-opened
// drift names whoever made it in the first place.
const UndoManager = "plumb-undo"

// Result is one step's outcome.
type Result struct {
	Step    Step              `json:"step"`
	Outcome store.StepOutcome `json:"outcome"`
	Message string            `json:"message,omitempty"`
	// Before and After are the whole object around the write; nil when it
	// did not exist. They hold Secret values, so they are never printed;
	// Record masks them.
	Before *unstructured.Unstructured `json:"-"`
	After  *unstructured.Unstructured `json:"-"`
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// DryRun runs every write as a server-side dry-run.
	DryRun bool
}

// Apply carries out an unrefused plan, step by step, in order. A step that
// fails does not stop the others; each has its outcome.
func (p *Planner) Apply(ctx context.Context, plan Plan, opts ApplyOptions) ([]Result, error) {
	if plan.Refused() {
		return nil, errors.New("the plan was refused by a guardrail; nothing applied")
	}
	out := make([]Result, 0, len(plan.Steps))
	for _, st := range plan.Steps {
		var r Result
		switch st.Action {
		case store.ActionApply:
			r = p.applyDrifted(ctx, st, opts)
		case store.ActionCreate:
			r = p.create(ctx, st, opts)
		case store.ActionDelete:
			r = p.delete(ctx, st, opts)
		case store.ActionRestore:
			r = p.restore(ctx, st, opts)
		case store.ActionRecreate:
			r = p.recreate(ctx, st, opts)
		default:
			r = Result{Outcome: store.StepFailed, Message: fmt.Sprintf("unknown action %q", st.Action)}
		}
		r.Step = st
		out = append(out, r)
	}
	return out, nil
}

// maxReplans bounds how often a step whose object keeps changing (to the
// same drift) is re-checked.
const maxReplans = 3

func failed(err error) Result { return Result{Outcome: store.StepFailed, Message: err.Error()} }

func changed(msg string) Result { return Result{Outcome: store.StepChanged, Message: msg} }

// applyDrifted server-side applies the declaration at the planned version.
func (p *Planner) applyDrifted(ctx context.Context, st Step, opts ApplyOptions) Result {
	rv := st.ResourceVersion
	for range maxReplans {
		before, err := p.engine.Get(ctx, st.target)
		if err != nil {
			return failed(err)
		}
		if before == nil {
			return changed("the object was deleted since it was planned")
		}
		if before.GetResourceVersion() == rv {
			after, msg, err := p.serverSideApply(ctx, st, before, opts)
			var outside *outsideConflicts
			switch {
			case err == nil:
				r := Result{Outcome: store.StepApplied, Message: msg, Before: before, After: after}
				return p.removeAdded(ctx, st, r, opts)
			case errors.As(err, &outside):
				// The server checks ownership before the resourceVersion:
				// a conflict may only mean the object changed since.
				live, gerr := p.engine.Get(ctx, st.target)
				if gerr != nil {
					return failed(gerr)
				}
				if live != nil && live.GetResourceVersion() == rv {
					return Result{Outcome: store.StepConflict, Message: err.Error()}
				}
				continue
			case errors.Is(err, errChanged):
				continue
			default:
				return failed(err)
			}
		}
		// Changed since planned: compare again; go on only if the plan
		// still says exactly what to do.
		f, err := p.engine.CompareLive(ctx, st.target, before, nil)
		if err != nil {
			return failed(err)
		}
		if f == nil {
			return Result{Outcome: store.StepInSync, Message: "already back in sync"}
		}
		again, ok := p.step(*f, st.target)
		if !ok || !sameChanges(again.Changes, st.Changes) {
			return changed("the object changed since it was planned; run plumb fix again to see the new plan")
		}
		rv = again.ResourceVersion
	}
	return changed("the object kept changing while it was being put back")
}

// outsideConflicts: other managers own fields the step does not change.
type outsideConflicts struct{ fields []string }

func (o *outsideConflicts) Error() string {
	return "other managers own fields the plan does not change: " + strings.Join(o.fields, ", ")
}

// serverSideApply applies as the step's manager at live's resourceVersion
// (the planned one), first without force;
// with force only when every conflict is a field the step puts back.
func (p *Planner) serverSideApply(ctx context.Context, st Step, live *unstructured.Unstructured, opts ApplyOptions) (*unstructured.Unstructured, string, error) {
	ao := writeOptions{Manager: st.Manager, ResourceVersion: live.GetResourceVersion(), Live: live, DryRun: opts.DryRun}
	for _, c := range st.Changes {
		if c.Default {
			ao.Defaults = append(ao.Defaults, c.Change)
		}
	}
	after, err := serverSideApply(ctx, p.engine.Cluster(), st.target, ao)
	var conflicts *fieldConflicts
	if !errors.As(err, &conflicts) {
		return after, "", err
	}
	if outside := outsidePlan(conflicts.Fields, st); len(outside) > 0 {
		unchanged, err := p.unchangedByForce(ctx, st, ao, live, outside)
		if err != nil {
			return nil, "", err
		}
		if !unchanged {
			return nil, "", &outsideConflicts{fields: outside}
		}
	}
	ao.Force = true
	after, err = serverSideApply(ctx, p.engine.Cluster(), st.target, ao)
	if err != nil {
		return nil, "", err
	}
	return after, "took over " + strings.Join(conflicts.Fields, ", "), nil
}

// unchangedByForce reports whether forcing the apply would leave the value
// of every conflicting field outside the plan as it is live. That happens
// when the declaration writes part of an atomic struct the server completes
// (an env var's fieldRef without apiVersion, deployed with client-side
// apply): the apply then only moves the field's ownership. It asks the
// server with a forced dry-run; a field whose path it cannot read counts
// as changed.
func (p *Planner) unchangedByForce(ctx context.Context, st Step, ao writeOptions, live *unstructured.Unstructured, fields []string) (bool, error) {
	ao.Force, ao.DryRun = true, true
	forced, err := serverSideApply(ctx, p.engine.Cluster(), st.target, ao)
	if err != nil {
		if errors.Is(err, errChanged) {
			return false, err
		}
		return false, nil
	}
	for _, f := range fields {
		was, wasSet := drift.ValueAt(live.Object, f)
		now, nowSet := drift.ValueAt(forced.Object, f)
		if !wasSet || wasSet != nowSet || !equality.Semantic.DeepEqual(was, now) {
			return false, nil
		}
	}
	return true, nil
}

// removeAdded takes out the added fields a step plans to remove, with a
// JSON patch that first tests the object is still as just applied.
func (p *Planner) removeAdded(ctx context.Context, st Step, r Result, opts ApplyOptions) Result {
	var ptrs []string
	for _, c := range st.Changes {
		if c.Type != drift.ChangeAdded {
			continue
		}
		if ptr, ok := drift.JSONPointer(r.After.Object, c.Path); ok {
			ptrs = append(ptrs, ptr)
		}
	}
	if len(ptrs) == 0 {
		return r
	}
	// Later list elements first, so that earlier positions still hold.
	sort.Slice(ptrs, func(i, j int) bool { return pointerAfter(ptrs[i], ptrs[j]) })
	ops := []map[string]any{{"op": "test", "path": "/metadata/resourceVersion", "value": r.After.GetResourceVersion()}}
	for _, ptr := range ptrs {
		ops = append(ops, map[string]any{"op": "remove", "path": ptr})
	}
	body, err := json.Marshal(ops)
	if err != nil {
		return failed(err)
	}
	res, err := p.resource(st)
	if err != nil {
		return failed(err)
	}
	po := metav1.PatchOptions{FieldManager: drift.DefaultManager}
	if opts.DryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	after, err := res.Patch(ctx, st.Name, types.JSONPatchType, body, po)
	if err != nil {
		r.Outcome = store.StepChanged
		r.Message = strings.TrimPrefix(r.Message+"; ", "; ") + "declared fields put back, but added fields not removed: " + err.Error()
		return r
	}
	r.After = after
	return r
}

// pointerAfter orders JSON pointers so that, within one list, higher
// positions come first.
func pointerAfter(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		ai, aerr := strconv.Atoi(as[i])
		bi, berr := strconv.Atoi(bs[i])
		if aerr == nil && berr == nil {
			return ai > bi
		}
		return as[i] > bs[i]
	}
	return len(as) > len(bs)
}

// create server-side applies a missing object.
func (p *Planner) create(ctx context.Context, st Step, opts ApplyOptions) Result {
	before, err := p.engine.Get(ctx, st.target)
	if err != nil {
		return failed(err)
	}
	if before != nil {
		return changed("the object was created by someone else since it was planned")
	}
	after, err := serverSideApply(ctx, p.engine.Cluster(), st.target, writeOptions{Manager: st.Manager, DryRun: opts.DryRun})
	if err != nil {
		return failed(err)
	}
	return Result{Outcome: store.StepApplied, After: after}
}

// delete deletes an object, only if it is still the one planned, at the
// planned version.
func (p *Planner) delete(ctx context.Context, st Step, opts ApplyOptions) Result {
	res, before, err := p.current(ctx, st)
	if err != nil {
		return failed(err)
	}
	if before == nil {
		return Result{Outcome: store.StepInSync, Message: "already gone"}
	}
	if string(before.GetUID()) != st.UID || before.GetResourceVersion() != st.ResourceVersion {
		return changed("the object changed since it was planned; it was not deleted")
	}
	uid, rv := types.UID(st.UID), st.ResourceVersion
	bg := metav1.DeletePropagationBackground
	do := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}, PropagationPolicy: &bg}
	if opts.DryRun {
		do.DryRun = []string{metav1.DryRunAll}
	}
	if err := res.Delete(ctx, st.Name, do); err != nil {
		if apierrors.IsConflict(err) {
			return changed("the object changed since it was planned; it was not deleted")
		}
		return failed(err)
	}
	return Result{Outcome: store.StepApplied, Before: before}
}

// restore writes an object back to a recorded state, only if it is still
// as the recorded run left it.
func (p *Planner) restore(ctx context.Context, st Step, opts ApplyOptions) Result {
	res, before, err := p.current(ctx, st)
	if err != nil {
		return failed(err)
	}
	if before == nil {
		return changed("the object was deleted since the run; it was not restored")
	}
	if string(before.GetUID()) != st.UID || before.GetResourceVersion() != st.ResourceVersion {
		return changed("the object changed since the run; it was not restored")
	}
	obj := st.object.DeepCopy()
	obj.SetResourceVersion(before.GetResourceVersion())
	uo := metav1.UpdateOptions{FieldManager: UndoManager}
	if opts.DryRun {
		uo.DryRun = []string{metav1.DryRunAll}
	}
	after, err := res.Update(ctx, obj, uo)
	if err != nil {
		if apierrors.IsConflict(err) {
			return changed("the object changed since the run; it was not restored")
		}
		return failed(err)
	}
	r := Result{Outcome: store.StepApplied, Before: before, After: after}
	return restoreOwnership(ctx, res, st, r, opts)
}

// restoreOwnership gives a restored or recreated object back the
// managedFields it had when it was recorded. The write that restored it
// made UndoManager the owner of every field it changed, so a drift the
// undo re-opened would name plumb as its author, and an object undo
// recreated would have plumb as its deployer; with the recorded owners
// back, a scan reports exactly what it reported before the run (the
// kubectl-patch that added an env var, and when). Only managedFields
// change, so the server takes them as they are sent.
func restoreOwnership(ctx context.Context, res dynamic.ResourceInterface, st Step, r Result, opts ApplyOptions) Result {
	want := st.object.GetManagedFields()
	if opts.DryRun || len(want) == 0 || r.After == nil || equality.Semantic.DeepEqual(want, r.After.GetManagedFields()) {
		return r
	}
	obj := r.After.DeepCopy()
	obj.SetManagedFields(want)
	after, err := res.Update(ctx, obj, metav1.UpdateOptions{FieldManager: UndoManager})
	if err != nil {
		r.Message = "restored, but its field owners were not: " + err.Error()
		return r
	}
	r.After = after
	return r
}

// recreate creates a deleted object again from its recorded state.
func (p *Planner) recreate(ctx context.Context, st Step, opts ApplyOptions) Result {
	res, before, err := p.current(ctx, st)
	if err != nil {
		return failed(err)
	}
	if before != nil {
		return changed("the object exists again; it was not recreated")
	}
	obj := st.object.DeepCopy()
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"} {
		unstructured.RemoveNestedField(obj.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(obj.Object, "status")
	co := metav1.CreateOptions{FieldManager: UndoManager}
	if opts.DryRun {
		co.DryRun = []string{metav1.DryRunAll}
	}
	after, err := res.Create(ctx, obj, co)
	if err != nil {
		if apierrors.IsAlreadyExists(err) {
			return changed("the object exists again; it was not recreated")
		}
		return failed(err)
	}
	return restoreOwnership(ctx, res, st, Result{Outcome: store.StepApplied, After: after}, opts)
}

// resource is the dynamic client for the step's object.
func (p *Planner) resource(st Step) (dynamic.ResourceInterface, error) {
	c := p.engine.Cluster()
	m, err := c.Mapping(schema.FromAPIVersionAndKind(st.APIVersion, st.Kind))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", st.Object(), err)
	}
	if st.Namespace == "" {
		return c.Dynamic.Resource(m.Resource), nil
	}
	return c.Dynamic.Resource(m.Resource).Namespace(st.Namespace), nil
}

// current reads the step's object as it is now; nil when absent.
func (p *Planner) current(ctx context.Context, st Step) (dynamic.ResourceInterface, *unstructured.Unstructured, error) {
	res, err := p.resource(st)
	if err != nil {
		return nil, nil, err
	}
	u, err := res.Get(ctx, st.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return res, nil, nil
	}
	return res, u, err
}

// outsidePlan returns the conflicting fields the step does not change.
func outsidePlan(fields []string, st Step) []string {
	planned := map[string]bool{}
	for _, c := range st.Changes {
		planned[normalisePath(c.Path)] = true
	}
	var out []string
	for _, f := range fields {
		if !planned[normalisePath(f)] {
			out = append(out, f)
		}
	}
	return out
}

// normalisePath writes map keys the way the server's conflict messages do:
// .metadata.annotations["a.b/c"] becomes .metadata.annotations.a.b/c.
func normalisePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if strings.HasPrefix(p[i:], `["`) {
			if end := strings.Index(p[i+2:], `"]`); end >= 0 {
				b.WriteString("." + p[i+2:i+2+end])
				i += end + 3
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func sameChanges(a, b []Change) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		// The live value too: a plan shown (and approved) as 7 → 2 must not
		// put 2 over a 9 someone set since.
		if a[i].Path != b[i].Path || a[i].Type != b[i].Type || fmt.Sprint(a[i].Desired) != fmt.Sprint(b[i].Desired) || fmt.Sprint(a[i].Live) != fmt.Sprint(b[i].Live) {
			return false
		}
	}
	return true
}
