-- A unit's registry of jobs and their published settings (upstream's intermittent cache).
CREATE TABLE pio_job_metadata (
    job_id              INTEGER PRIMARY KEY AUTOINCREMENT,
    unit                TEXT NOT NULL,
    experiment          TEXT NOT NULL,
    job_name            TEXT NOT NULL,
    job_source          TEXT NOT NULL,
    started_at          TEXT NOT NULL,
    is_running          INTEGER NOT NULL DEFAULT 1,
    leader              TEXT,
    pid                 INTEGER,
    is_long_running_job INTEGER NOT NULL DEFAULT 0,
    ended_at            TEXT
);
CREATE INDEX pio_job_metadata_running_ix ON pio_job_metadata (is_running, job_name);

CREATE TABLE pio_job_published_settings (
    job_id     INTEGER NOT NULL REFERENCES pio_job_metadata (job_id) ON DELETE CASCADE,
    setting    TEXT NOT NULL,
    value      TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_id, setting)
);

-- Bioreactor variables per experiment (upstream's persistent cache table `bioreactor`).
CREATE TABLE bioreactor (
    experiment TEXT NOT NULL,
    variable   TEXT NOT NULL,
    value      REAL NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (experiment, variable)
);
