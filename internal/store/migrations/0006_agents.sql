-- The last entry the hub applied from each agent's outbox (plumb agent),
-- so that a batch sent again after a lost answer applies nothing twice.
CREATE TABLE agent_cursors (
    cluster TEXT PRIMARY KEY,
    stream  TEXT NOT NULL,     -- the agent's outbox; a new one starts again at 1
    applied INTEGER NOT NULL,  -- the last sequence number applied
    seen_at INTEGER NOT NULL   -- unix milliseconds of the last batch
);
