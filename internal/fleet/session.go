package fleet

import (
	"context"
	"time"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/gitsource"
	"plumb.dev/plumb/internal/source"
)

// Session is one member of the fleet as a command works with it: its
// cluster, dialled, with a drift engine of its own, and its sources loaded
// for that cluster. Every command that reaches clusters through their
// members (scan, diff, skew, fix and its rollouts, serve, agent) opens its
// sessions here, whether the fleet is a configuration's or the command
// line's fleet of one.
type Session struct {
	Member  Member
	Cluster *cluster.Cluster
	Engine  *drift.Engine
	auth    gitsource.Auth
	limits  source.Limits
	// good keeps each source's last declarations for LoadEncoded.
	good lastGood
}

// SessionOptions tune Open.
type SessionOptions struct {
	// Timeout bounds every request to the cluster; 0, none.
	Timeout time.Duration
	// CacheDir is the discovery cache folder. Default: kubectl's.
	CacheDir string
	// Cluster tunes the connection (rate limits, transport).
	Cluster cluster.Options
	// Drift is the engine's; the session gets a cache of its own.
	Drift drift.Options
	// GitAuth says where Git sources' credentials come from beyond the
	// standard places.
	GitAuth gitsource.Auth
	// Limits bound the sources' files and objects; a source's own
	// (maxFileSize, maxObjectSize) replace them. Default: source's
	// (source.DefaultLimits).
	Limits source.Limits
}

// Open dials m's cluster and makes its engine. Nothing is contacted yet.
func Open(m Member, opts SessionOptions) (*Session, error) {
	c, err := dial(m, opts.CacheDir, opts.Timeout, opts.Cluster)
	if err != nil {
		return nil, err
	}
	dopts := opts.Drift
	dopts.Cache = drift.NewCache()
	e, err := drift.New(c, dopts)
	if err != nil {
		return nil, err
	}
	return &Session{Member: m, Cluster: c, Engine: e, auth: opts.GitAuth, limits: opts.Limits}, nil
}

// Name is the cluster's name in the fleet.
func (s *Session) Name() string { return s.Member.Cluster.Name }

// Rename gives the cluster another name in the fleet (plumb agent's
// --cluster-name).
func (s *Session) Rename(name string) { s.Member.Cluster.Name, s.Cluster.Name = name, name }

// Load loads the member's bound sources (again, when they changed):
// objects without a namespace get the source's, else the cluster's
// default namespace; Helm release sources are read from the cluster.
func (s *Session) Load(ctx context.Context) ([]source.Object, []source.Error) {
	return loadSources(ctx, s.Member, s.Cluster, s.auth, s.limits)
}

// LoadEncoded loads like Load and encodes each object as soon as it is
// decoded (source.Each): plumb serve holds its sources as JSON until the
// cluster answers, and a large source is never held decoded at once.
//
// A source that fails to load in part keeps what its last load declared
// where the errors are (see lastGood): a typo saved into one file does
// not take that file's objects out of plumb serve's watch. SourceProblems
// tells what the last load found wrong and kept.
func (s *Session) LoadEncoded(ctx context.Context) ([]source.Encoded, []source.Error) {
	var objs []source.Encoded
	var errs []source.Error
	kept := 0
	for _, b := range s.Member.Sources {
		opts := sourceOptions(b, s.Cluster, s.auth, s.limits)
		these, theirs := encodedIn(ctx, b, opts)
		if ctx.Err() != nil {
			return nil, append(errs, source.Error{Path: b.Source.Path, Message: ctx.Err().Error()})
		}
		these, n := s.good.merge(b.Source.Path, these, theirs)
		objs, errs, kept = append(objs, these...), append(errs, theirs...), kept+n
	}
	s.good.finish(errs, kept)
	return objs, errs
}

// SourceProblems are the errors of the last LoadEncoded and how many
// declarations it kept from earlier loads because of them.
func (s *Session) SourceProblems() SourceProblems { return s.good.problems() }
