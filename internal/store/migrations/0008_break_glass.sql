-- Each write the admission webhook let through because its author broke
-- glass: who (the authenticated user and groups), why, what and when.
CREATE TABLE break_glass (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,  -- unix milliseconds
    cluster     TEXT NOT NULL,
    api_version TEXT NOT NULL,
    kind        TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    uid         TEXT NOT NULL,
    "user"      TEXT NOT NULL,
    groups      TEXT NOT NULL,     -- JSON list
    reason      TEXT NOT NULL,
    operation   TEXT NOT NULL,     -- UPDATE | DELETE
    paths       TEXT NOT NULL,     -- JSON list of the declared fields overridden
    source      TEXT NOT NULL      -- the declaring file, file:line
);
CREATE INDEX break_glass_object ON break_glass (cluster, kind, namespace, name);
