package report

import (
	"context"
	"errors"
	"net"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

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
	for _, res := range results {
		r.Summary.Objects += res.Objects
		r.Summary.InSync += res.InSync
		r.Findings = append(r.Findings, res.Findings...)
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
		cov := 1.0
		if managed+unmanaged > 0 {
			cov = float64(managed) / float64(managed+unmanaged)
		}
		r.Summary.Coverage = &cov
	}
	return r
}

// Healthy reports whether every cluster was scanned and nothing failed.
func (r Report) Healthy() bool {
	if len(r.Errors) > 0 {
		return false
	}
	for _, c := range r.Clusters {
		if c.Status != StatusOK {
			return false
		}
	}
	return true
}
