-- Current findings: one row per object that is not as declared.
CREATE TABLE findings (
    id          TEXT PRIMARY KEY,          -- cluster/group/kind/namespace/name
    cluster     TEXT NOT NULL,
    api_version TEXT NOT NULL,
    kind        TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    state       TEXT NOT NULL,             -- drifted | missing | unmanaged
    source_path TEXT NOT NULL DEFAULT '',
    source_line INTEGER NOT NULL DEFAULT 0,
    changes     TEXT NOT NULL DEFAULT '[]', -- JSON; Secret values are already redacted
    managers    TEXT NOT NULL DEFAULT '',   -- comma-separated, for filtering
    unconfirmed INTEGER NOT NULL DEFAULT 0,
    first_seen  INTEGER NOT NULL,          -- unix milliseconds
    last_change INTEGER NOT NULL,
    event_id    INTEGER NOT NULL
);
CREATE INDEX findings_cluster ON findings (cluster, namespace, kind);

-- Drift events: a finding's life from opened to resolved.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_id   TEXT NOT NULL,
    cluster      TEXT NOT NULL,
    api_version  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    namespace    TEXT NOT NULL,
    name         TEXT NOT NULL,
    state        TEXT NOT NULL,
    changes      TEXT NOT NULL DEFAULT '[]',
    managers     TEXT NOT NULL DEFAULT '',
    opened_at    INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    updates      INTEGER NOT NULL DEFAULT 0,
    resolved_at  INTEGER,
    resolved_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_opened ON events (opened_at);
CREATE INDEX events_finding ON events (finding_id);
