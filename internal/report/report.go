package report

import (
	"context"
	"errors"
	"net"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
)

// APIVersion and Kind identify the report format.
const (
	APIVersion = "plumb.dev/v1alpha1"
	Kind       = "Report"
)

// Report is the result of one plumb scan, over one or more clusters.
type Report struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Summary    Summary         `json:"summary"`
	Clusters   []ClusterStatus `json:"clusters"`
	Findings   []drift.Finding `json:"findings"`
	Errors     []source.Error  `json:"errors"`
}

// Summary counts objects across all clusters.
type Summary struct {
	// Objects is the number of declared objects compared.
	Objects   int `json:"objects"`
	InSync    int `json:"inSync"`
	Drifted   int `json:"drifted"`
	Missing   int `json:"missing"`
	Unmanaged int `json:"unmanaged"`
	// Coverage is the share of live objects in scope that a source
	// declares; present only when unmanaged objects were looked for.
	Coverage *float64 `json:"coverage,omitempty"`
}

// Status is a cluster's state in a scan.
type Status string

const (
	StatusOK          Status = "ok"
	StatusUnreachable Status = "unreachable"
	StatusError       Status = "error"
	// StatusUnbound is a cluster no binding selects: nothing is declared
	// for it, so it was not scanned. It is neither clean nor drifted.
	StatusUnbound Status = "unbound"
)

// StatusOf classifies an error that stopped a cluster's scan: unreachable
// when no API server answered (connection refused, DNS, timeouts), error
// when one answered and refused (unauthorised, forbidden) or failed.
func StatusOf(err error) Status {
	var netErr net.Error
	var status apierrors.APIStatus
	switch {
	case err == nil:
		return StatusOK
	case errors.As(err, &status):
		if apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || apierrors.IsServiceUnavailable(err) {
			return StatusUnreachable
		}
		return StatusError
	case errors.As(err, &netErr), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, context.DeadlineExceeded):
		return StatusUnreachable
	}
	return StatusError
}

// ClusterStatus says whether a cluster was scanned.
type ClusterStatus struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Summary counts this cluster's objects; absent when it was not scanned.
	Summary *Summary `json:"summary,omitempty"`
}

// New builds a report. sourceErrs are load errors that apply to every
// cluster; each result carries its own per-object errors.
func New(results []drift.Result, clusters []ClusterStatus, sourceErrs []source.Error) Report {
	r := Report{APIVersion: APIVersion, Kind: Kind, Clusters: clusters, Findings: []drift.Finding{}, Errors: []source.Error{}}
	if r.Clusters == nil {
		r.Clusters = []ClusterStatus{}
	}
	r.Errors = append(r.Errors, sourceErrs...)
	var managed, unmanaged int
	checked := false
	perCluster := map[string]*Summary{}
	for _, res := range results {
		perCluster[res.Cluster] = summarise(res)
		r.Summary.Objects += res.Objects
		r.Summary.InSync += res.InSync
		for _, f := range res.Findings {
			if f.State == drift.StateMissing && f.Desired == nil {
				f.Desired = declaredView(res, f)
			}
			r.Findings = append(r.Findings, f)
		}
		r.Errors = append(r.Errors, res.Errors...)
		managed += res.Managed
		unmanaged += res.Unmanaged
		checked = checked || res.UnmanagedChecked
	}
	for _, f := range r.Findings {
		switch f.State {
		case drift.StateDrifted:
			r.Summary.Drifted++
		case drift.StateMissing:
			r.Summary.Missing++
		case drift.StateUnmanaged:
			r.Summary.Unmanaged++
		}
	}
	if checked {
		r.Summary.Coverage = coverage(managed, unmanaged)
	}
	for i := range r.Clusters {
		if r.Clusters[i].Status == StatusOK {
			r.Clusters[i].Summary = perCluster[r.Clusters[i].Name]
		}
	}
	return r
}

// declaredView is what creating a missing object would write: its
// declaration, in the namespace it was compared in, Secret values masked;
// nil when the result does not hold it. A diff shows it as all "+" lines,
// as kubectl diff shows an object it would create.
func declaredView(res drift.Result, f drift.Finding) *unstructured.Unstructured {
	d, ok := res.Declared[f.Key()]
	if !ok {
		return nil
	}
	obj, err := d.Object()
	if err != nil {
		return nil
	}
	v := drift.MaskSecret(obj)
	if f.Namespace != "" {
		v.SetNamespace(f.Namespace)
	}
	return v
}

// summarise counts one cluster's result.
func summarise(res drift.Result) *Summary {
	s := &Summary{Objects: res.Objects, InSync: res.InSync}
	for _, f := range res.Findings {
		switch f.State {
		case drift.StateDrifted:
			s.Drifted++
		case drift.StateMissing:
			s.Missing++
		case drift.StateUnmanaged:
			s.Unmanaged++
		}
	}
	if res.UnmanagedChecked {
		s.Coverage = coverage(res.Managed, res.Unmanaged)
	}
	return s
}

func coverage(managed, unmanaged int) *float64 {
	cov := 1.0
	if managed+unmanaged > 0 {
		cov = float64(managed) / float64(managed+unmanaged)
	}
	return &cov
}

// Healthy reports whether every cluster was scanned and nothing failed.
func (r Report) Healthy() bool { return r.Complete(true) }

// Complete reports whether the result can be trusted as a whole: no bad
// input, no object that failed, no cluster in error. Unreachable clusters
// count against it when failOnUnreachable is set, or when no cluster at all
// was reached (a scan that saw nothing must not pass as "in sync").
// Unbound clusters count neither way.
func (r Report) Complete(failOnUnreachable bool) bool {
	if len(r.Errors) > 0 {
		return false
	}
	reached, scanned := 0, 0
	for _, c := range r.Clusters {
		if c.Status != StatusUnbound {
			scanned++
		}
		switch c.Status {
		case StatusOK:
			reached++
		case StatusUnbound:
		case StatusUnreachable:
			if failOnUnreachable {
				return false
			}
		default:
			return false
		}
	}
	return reached > 0 || scanned == 0
}
