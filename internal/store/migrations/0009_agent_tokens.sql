-- Each agent's own credential on the hub: the SHA-256 of its token (the
-- token itself is never kept), bound to the one cluster it may report.
CREATE TABLE agent_tokens (
    cluster    TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
