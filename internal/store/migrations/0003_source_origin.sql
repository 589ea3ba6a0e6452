-- The whole provenance of a finding's declaration, as JSON
-- (source.Origin): for a Git source the repository and the commit it was
-- compared with, for a live Helm release the release and revision.
-- source_path and source_line stay for filtering and older readers.
ALTER TABLE findings ADD COLUMN source TEXT NOT NULL DEFAULT '';
