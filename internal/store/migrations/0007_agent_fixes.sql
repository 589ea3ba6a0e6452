-- Fixes asked of agents' clusters on the hub (plumb agent), until and
-- after the agent reports on them.
CREATE TABLE agent_fixes (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster TEXT NOT NULL,
    state   TEXT NOT NULL,  -- pending | applied | failed
    fix     TEXT NOT NULL   -- JSON: the findings, their objects, the agent's report
);
CREATE INDEX agent_fixes_cluster ON agent_fixes (cluster, state);
