-- Values a job keeps for the next run of the same experiment (upstream's persistent cache),
-- e.g. the growth-rate filter's OD normalisation.
CREATE TABLE persistent_cache (
    cache      TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (cache, key)
);
