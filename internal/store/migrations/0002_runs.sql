-- Remediation runs: what plumb fix (or serve's remediation) planned, who
-- ran it, and what happened to every object.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  INTEGER NOT NULL,          -- unix milliseconds
    finished_at INTEGER NOT NULL,
    "user"      TEXT NOT NULL,             -- the Kubernetes identity that ran it (quoted: a keyword in PostgreSQL)
    command     TEXT NOT NULL,             -- fix | undo | serve
    undo_of     INTEGER,                   -- the run an undo reverted
    outcome     TEXT NOT NULL,             -- applied | partial | refused | declined | failed
    clusters    TEXT NOT NULL DEFAULT '',  -- comma-separated
    objects     INTEGER NOT NULL DEFAULT 0,
    plan        TEXT NOT NULL DEFAULT '{}' -- JSON; Secret values are never in it
);
CREATE INDEX runs_started ON runs (started_at);

-- One row per object a run planned to change.
CREATE TABLE run_objects (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    cluster     TEXT NOT NULL,
    api_version TEXT NOT NULL,
    kind        TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    message     TEXT NOT NULL DEFAULT '',
    before      TEXT,                      -- the whole object before; NULL if absent
    after       TEXT,                      -- the whole object after; NULL if absent
    PRIMARY KEY (run_id, seq)
);
