package cli

import (
	"context"
	"os"

	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/store"
)

// defaultStore is the SQLite file serve, fix and history share when
// neither --store nor the configuration names one.
const defaultStore = "plumb.db"

// storeFlagHelp documents --store the same way on every command.
const storeFlagHelp = "Store for findings and remediation history: a SQLite file, or a postgres:// URL (default: the configuration's store, else " + defaultStore + ")"

// openStore opens the store --store names, else the configuration's, else
// defaultStore, and says which it opened, with any password redacted.
func openStore(ctx context.Context, flag string, cfg *config.File) (*store.DB, string, error) {
	target := flag
	if target == "" && cfg != nil {
		target = cfg.Store.Path
		if cfg.Store.Driver == "postgres" {
			target = cfg.Store.DSN
		}
	}
	if target == "" {
		target = defaultStore
	}
	st, err := store.Open(ctx, target)
	return st, store.Redact(target), err
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
