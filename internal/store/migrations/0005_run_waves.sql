-- Waves of a rollout (plumb fix -c with rollout:, serve's auto mode): one
-- row per cluster of each wave, with when it was fixed and how it went.
CREATE TABLE run_waves (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    wave        TEXT NOT NULL,
    cluster     TEXT NOT NULL,
    status      TEXT NOT NULL,             -- pending | fixed | failed | drifted
    started_at  INTEGER NOT NULL DEFAULT 0, -- unix milliseconds; 0 when not started
    finished_at INTEGER NOT NULL DEFAULT 0,
    message     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
);
