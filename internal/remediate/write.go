package remediate

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
)

// writeOptions tune serverSideApply.
type writeOptions struct {
	// Manager is the field manager to apply as.
	Manager string
	// ResourceVersion, if set, is a precondition: the write fails with a
	// conflict if the object changed since.
	ResourceVersion string
	// Force takes over fields other managers own.
	Force bool
	// DryRun asks the server to do everything but persist.
	DryRun bool
	// Live is the object as it is now, when it exists: fields the chart
	// generates anew on every render keep their live values
	// (drift.Target.DesiredOver). Default nil.
	Live *unstructured.Unstructured
	// Defaults are modified fields the source leaves out (drift.Change.Default):
	// their default values are applied with the declaration, which puts
	// back a default someone changed. Default none.
	Defaults []drift.Change
}

// serverSideApply applies t's declaration to the cluster. A refusal for
// field conflicts is returned as *fieldConflicts; a write at a
// resourceVersion the object has moved on from, as errChanged.
func serverSideApply(ctx context.Context, c *cluster.Cluster, t drift.Target, opts writeOptions) (*unstructured.Unstructured, error) {
	d, err := t.DesiredOver(opts.Live)
	if err != nil {
		return nil, err
	}
	d.SetResourceVersion(opts.ResourceVersion)
	for _, c := range opts.Defaults {
		if !drift.PutValue(d.Object, c.Path, c.Desired) {
			return nil, fmt.Errorf("%s: cannot declare its default value in the applied object", c.Path)
		}
	}
	ao := metav1.ApplyOptions{FieldManager: opts.Manager, Force: opts.Force}
	if opts.DryRun {
		ao.DryRun = []string{metav1.DryRunAll}
	}
	out, err := c.Dynamic.Resource(t.Resource()).Namespace(t.Namespace()).Apply(ctx, t.Name(), d, ao)
	if err != nil {
		var status apierrors.APIStatus
		if errors.As(err, &status) && apierrors.IsConflict(err) {
			var fields []string
			if det := status.Status().Details; det != nil {
				for _, c := range det.Causes {
					if c.Type == metav1.CauseTypeFieldManagerConflict {
						fields = append(fields, c.Field)
					}
				}
			}
			if len(fields) > 0 {
				return nil, &fieldConflicts{Fields: fields, Err: err}
			}
			return nil, fmt.Errorf("%w: %w", errChanged, err)
		}
		return nil, err
	}
	return out, nil
}

// fieldConflicts is the server's refusal to apply over fields other
// managers own.
type fieldConflicts struct {
	// Fields are the conflicting fields, in the server's path notation.
	Fields []string
	Err    error
}

func (c *fieldConflicts) Error() string { return c.Err.Error() }
func (c *fieldConflicts) Unwrap() error { return c.Err }

// errChanged reports an object that changed since the resourceVersion a
// write was made at.
var errChanged = errors.New("the object changed since it was planned")
