-- Which charts the UI shows for an experiment, in order, shared by every browser: one ordered
-- list for the overview and one for a single Pioreactor's page. NULL: the configured defaults;
-- '[]': no chart. Stored as JSON arrays of chart keys.
CREATE TABLE experiment_chart_preferences (
    experiment            TEXT PRIMARY KEY REFERENCES experiments (experiment) ON DELETE CASCADE,
    overview_chart_keys   TEXT,
    pioreactor_chart_keys TEXT,
    updated_at            TEXT NOT NULL
);
