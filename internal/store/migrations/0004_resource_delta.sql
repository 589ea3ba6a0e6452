-- What a drifted workload requests beyond its declaration (pod requests
-- × replicas), as JSON ({"cpu": "600m", "memory": "2Gi"}); empty when
-- nothing differs or the object runs no pods.
ALTER TABLE findings ADD COLUMN resource_delta TEXT NOT NULL DEFAULT '';
