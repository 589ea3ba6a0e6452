package cli

import (
	"context"
	"fmt"
	"os"

	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/store"
)

// defaultStore is the SQLite file serve, fix and history share when
// neither --store nor the configuration names one.
const defaultStore = "plumb.db"

// storeFlagHelp documents --store the same way on every command.
const storeFlagHelp = "SQLite file for findings and remediation history (default: the configuration's store, else " + defaultStore + ")"

// openStore opens the store --store names, else the configuration's, else
// defaultStore, and says which file it opened.
func openStore(ctx context.Context, flag string, cfg *config.File) (*store.SQLite, string, error) {
	path := flag
	if path == "" && cfg != nil {
		if cfg.Store.Driver != "" && cfg.Store.Driver != "sqlite" {
			return nil, "", fmt.Errorf("store driver %s is not supported yet; use sqlite", cfg.Store.Driver)
		}
		path = cfg.Store.Path
	}
	if path == "" {
		path = defaultStore
	}
	st, err := store.OpenSQLite(ctx, path)
	return st, path, err
}

// nameUsers puts the users serve's store at path recorded on findings'
// changes. The store must exist: scan never creates one.
func nameUsers(ctx context.Context, path string, findings []drift.Finding) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	return store.NameUsers(ctx, st, findings)
}
