package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/store"
)

// storeFlagHelp documents --store the same way on every command.
const storeFlagHelp = "Store for findings and remediation history: a SQLite file, or a postgres:// URL (default: the configuration's store, else plumb.db in $XDG_STATE_HOME/plumb, ~/.local/state/plumb when unset)"

// errNoStore: the SQLite store a command would read does not exist yet.
// Reading creates no store; only a write does.
var errNoStore = errors.New("no store yet")

// defaultStore is the SQLite file serve, fix and history share when
// neither --store nor the configuration names one: plumb.db in plumb's
// directory of the user's state directory (the XDG Base Directory
// specification's $XDG_STATE_HOME, else ~/.local/state), never the
// working directory.
func defaultStore() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(dir) { // the specification ignores a relative path
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no default store: %w; give --store", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "plumb", "plumb.db"), nil
}

// storeTarget is the store --store names, else the configuration's, else
// defaultStore; def says it is the default.
func storeTarget(flag string, cfg *config.File) (target string, def bool, err error) {
	target = flag
	if target == "" && cfg != nil {
		target = cfg.Store.Path
		if cfg.Store.Driver == "postgres" {
			target = cfg.Store.DSN
		}
	}
	if target != "" {
		return target, false, nil
	}
	target, err = defaultStore()
	return target, true, err
}

// openStore opens the store storeTarget names, creating it if need be
// (the default's directory with mode 0700), and says which it opened,
// with any password redacted. Commands that write call it; those that
// only read call openExistingStore.
func openStore(ctx context.Context, flag string, cfg *config.File) (*store.DB, string, error) {
	target, def, err := storeTarget(flag, cfg)
	if err != nil {
		return nil, "", err
	}
	if def {
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return nil, target, fmt.Errorf("store %s: %w", target, err)
		}
	}
	st, err := store.Open(ctx, target)
	return st, store.Redact(target), err
}

// openExistingStore opens the store storeTarget names to read it: a
// SQLite file that does not exist is errNoStore, and is not created.
func openExistingStore(ctx context.Context, flag string, cfg *config.File) (*store.DB, string, error) {
	target, _, err := storeTarget(flag, cfg)
	if err != nil {
		return nil, "", err
	}
	if !store.IsPostgres(target) {
		if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
			return nil, target, fmt.Errorf("store %s: %w", target, errNoStore)
		}
	}
	st, err := store.Open(ctx, target)
	return st, store.Redact(target), err
}

// lazyStore is the store of a command that may record a run, opened only
// when a run is read or recorded: a plan that is shown and not applied
// leaves no store behind. Reads of a store that does not exist yet find
// nothing; a write creates it. Carry opens it (remediate.Opener) once a
// plan is to be applied and before anything is written, so that a store
// that cannot be opened stops the run first.
type lazyStore struct {
	flag string
	cfg  *config.File
	// db is the store once opened.
	db *store.DB
}

var (
	_ remediate.Runs   = (*lazyStore)(nil)
	_ remediate.Opener = (*lazyStore)(nil)
)

// Open opens the store, creating it if need be.
func (l *lazyStore) Open(ctx context.Context) error {
	if l.db != nil {
		return nil
	}
	db, _, err := openStore(ctx, l.flag, l.cfg)
	if err != nil {
		return err
	}
	l.db = db
	return nil
}

// read opens the store to read it: errNoStore if it does not exist.
func (l *lazyStore) read(ctx context.Context) error {
	if l.db != nil {
		return nil
	}
	db, _, err := openExistingStore(ctx, l.flag, l.cfg)
	if err != nil {
		return err
	}
	l.db = db
	return nil
}

// Close closes the store if it was opened.
func (l *lazyStore) Close() error {
	if l.db == nil {
		return nil
	}
	return l.db.Close()
}

func (l *lazyStore) RecordRun(ctx context.Context, r *store.Run) (int64, error) {
	if err := l.Open(ctx); err != nil {
		return 0, err
	}
	return l.db.RecordRun(ctx, r)
}

func (l *lazyStore) UpdateRun(ctx context.Context, r *store.Run) error {
	if err := l.Open(ctx); err != nil {
		return err
	}
	return l.db.UpdateRun(ctx, r)
}

func (l *lazyStore) Runs(ctx context.Context, f store.RunFilter) ([]store.Run, error) {
	if err := l.read(ctx); errors.Is(err, errNoStore) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return l.db.Runs(ctx, f)
}

func (l *lazyStore) Run(ctx context.Context, id int64) (*store.Run, error) {
	if err := l.read(ctx); errors.Is(err, errNoStore) {
		return nil, store.ErrNotFound
	} else if err != nil {
		return nil, err
	}
	return l.db.Run(ctx, id)
}

func (l *lazyStore) UndoneBy(ctx context.Context, id int64) (int64, error) {
	if err := l.read(ctx); errors.Is(err, errNoStore) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	return l.db.UndoneBy(ctx, id)
}

// nameUsers puts the users serve's store at target recorded on findings'
// changes. A SQLite store must exist: scan never creates one.
func nameUsers(ctx context.Context, target string, findings []drift.Finding) error {
	if !store.IsPostgres(target) {
		if _, err := os.Stat(target); err != nil {
			return err
		}
	}
	st, err := store.Open(ctx, target)
	if err != nil {
		return err
	}
	defer st.Close()
	return store.NameUsers(ctx, st, findings)
}
