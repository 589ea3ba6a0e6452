-- plumb's own serving certificates (the admission webhook's), kept across
-- restarts: the current certificate and key, its CA, and the CA it
-- replaced, which API servers keep trusting while a rotation settles.
CREATE TABLE serving_certs (
    name        TEXT PRIMARY KEY,
    cert        TEXT NOT NULL,
    key         TEXT NOT NULL,
    ca          TEXT NOT NULL,
    previous_ca TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
