// Package event holds what the parts of plumb serve tell each other: a
// finding's change (Event), a cluster's connection state (Status), and the
// Bus that hands each event to the parts that subscribed before serve
// started. It depends on nothing but the drift, source and store types an
// event carries.
package event

import (
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// Event is a change of a finding, as subscribers see it.
type Event struct {
	Cluster    string           `json:"cluster"`
	FindingID  string           `json:"findingId"`
	Transition store.Transition `json:"transition"`
	Finding    *drift.Finding   `json:"finding,omitempty"`
	At         time.Time        `json:"at"`
}

// State is a cluster's connection state.
type State string

const (
	StateSyncing     State = "syncing"
	StateOK          State = "ok"
	StateUnreachable State = "unreachable"
	// StateUnbound is a cluster of the configuration that no binding
	// selects: serve does not watch it, and the API lists it as such.
	StateUnbound State = "unbound"
	// StateUnassigned is a cluster of a fleet shared among replicas
	// (serve --lease-namespace) that no replica watches yet.
	StateUnassigned State = "unassigned"
	// StateDisconnected is a cluster an agent watches (plumb agent) that
	// has not been heard from lately.
	StateDisconnected State = "disconnected"
)

// Status is what the API shows of a cluster.
type Status struct {
	Name string `json:"name"`
	// Replica is the replica of plumb serve that watches the cluster, when
	// the fleet is shared among replicas.
	Replica  string `json:"replica,omitempty"`
	State    State  `json:"status"`
	Error    string `json:"error,omitempty"`
	Ready    bool   `json:"ready"`
	Objects  int    `json:"objects"`
	Findings int    `json:"findings"`
	// Drifted, Missing and Unmanaged count the open findings by state.
	Drifted   int `json:"drifted"`
	Missing   int `json:"missing"`
	Unmanaged int `json:"unmanaged"`
	// Coverage is the share of live objects in scope that a source
	// declares (0 to 1); absent unless unmanaged objects are watched.
	Coverage *float64 `json:"coverage,omitempty"`
	// LastScan is when an object was last compared and recorded.
	LastScan *time.Time `json:"lastScan,omitempty"`
	// Agent is set for a cluster that plumb agent watches and reports
	// to the hub; LastSeen is when the hub last heard from it.
	Agent    bool       `json:"agent,omitempty"`
	LastSeen *time.Time `json:"lastSeen,omitempty"`
	// SourceErrors are the errors of the last load of the cluster's
	// sources, and KeptDeclarations how many objects that load could not
	// read and kept as an earlier load declared them: they stay watched
	// until the source is fixed.
	SourceErrors     []source.Error `json:"sourceErrors,omitempty"`
	KeptDeclarations int            `json:"keptDeclarations,omitempty"`
}
