-- Results of background tasks, polled at /unit_api/task_results/<task_id>.
CREATE TABLE task_results (
    task_id     TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    expires_at  TEXT,
    result      TEXT,
    error       TEXT,
    cause       TEXT,
    remediation TEXT
);
CREATE INDEX task_results_expires_ix ON task_results (expires_at);
CREATE INDEX task_results_status_ix ON task_results (status);
