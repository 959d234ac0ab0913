-- The application database, with Pioreactor's table, column, view and trigger names so that
-- exports, notebooks and tools that read the database file keep working.
-- Times are TEXT, UTC, 'YYYY-MM-DDTHH:MM:SS.mmmZ'.

CREATE TABLE experiments (
    experiment    TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    description   TEXT,
    media_used    TEXT,
    organism_used TEXT
);
CREATE UNIQUE INDEX experiments_ix ON experiments (created_at, experiment, description);

CREATE TABLE experiment_tags (
    experiment TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (experiment, tag)
);
CREATE INDEX experiment_tags_ix ON experiment_tags (experiment, created_at, tag);

CREATE TABLE workers (
    pioreactor_unit TEXT NOT NULL UNIQUE,
    added_at        TEXT NOT NULL,
    model_name      TEXT,
    model_version   TEXT,
    is_active       INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
);

CREATE TABLE experiment_worker_assignments (
    pioreactor_unit TEXT NOT NULL UNIQUE REFERENCES workers (pioreactor_unit) ON DELETE CASCADE,
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    assigned_at     TEXT NOT NULL
);
CREATE INDEX experiment_worker_assignments_ix ON experiment_worker_assignments (experiment);

-- Deliberately without foreign keys: history outlives the experiments and workers it names.
CREATE TABLE experiment_worker_assignments_history (
    pioreactor_unit TEXT NOT NULL,
    experiment      TEXT NOT NULL,
    assigned_at     TEXT NOT NULL,
    unassigned_at   TEXT,
    UNIQUE (pioreactor_unit, experiment, assigned_at)
);
CREATE INDEX experiment_worker_assignments_history_ix
    ON experiment_worker_assignments_history (experiment, pioreactor_unit, assigned_at, unassigned_at);

CREATE TRIGGER insert_experiment_worker_assignments_history
AFTER INSERT ON experiment_worker_assignments
BEGIN
    INSERT OR IGNORE INTO experiment_worker_assignments_history
        (pioreactor_unit, experiment, assigned_at, unassigned_at)
    VALUES (NEW.pioreactor_unit, NEW.experiment, NEW.assigned_at, NULL);
END;

CREATE TRIGGER update_experiment_worker_assignments_history
AFTER DELETE ON experiment_worker_assignments
BEGIN
    UPDATE experiment_worker_assignments_history
       SET unassigned_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
     WHERE pioreactor_unit = OLD.pioreactor_unit
       AND experiment = OLD.experiment
       AND assigned_at = OLD.assigned_at
       AND unassigned_at IS NULL;
END;

CREATE TABLE pioreactor_unit_labels (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    label           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (pioreactor_unit, experiment),
    UNIQUE (label, experiment)
);
CREATE INDEX pioreactor_unit_labels_ix ON pioreactor_unit_labels (experiment, pioreactor_unit);

CREATE TABLE experiment_profile_runs (
    started_at              TEXT NOT NULL,
    experiment_profile_name TEXT NOT NULL,
    experiment              TEXT REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX experiment_profile_runs_ix ON experiment_profile_runs (experiment);

CREATE TABLE config_files_histories (
    timestamp TEXT NOT NULL,
    filename  TEXT NOT NULL,
    data      TEXT NOT NULL
);
CREATE INDEX config_files_histories_ix ON config_files_histories (filename);

-- Legacy: nothing writes it any more, but exports and old tools still name it.
CREATE TABLE calibrations (
    pioreactor_unit   TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    type              TEXT NOT NULL,
    data              TEXT NOT NULL,
    name              TEXT NOT NULL,
    is_current        INTEGER DEFAULT 0,
    set_to_current_at TEXT,
    UNIQUE (pioreactor_unit, type, name)
);

-- Time series written by the ingester. Every one is scoped by experiment and unit.

CREATE TABLE od_readings (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    od_reading      REAL NOT NULL,
    angle           INTEGER NOT NULL,
    channel         INTEGER NOT NULL CHECK (channel IN (1, 2, 3, 4))
);
CREATE INDEX od_readings_ix ON od_readings (experiment, pioreactor_unit, channel, timestamp);

CREATE TABLE raw_od_readings (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    od_reading      REAL NOT NULL,
    channel         INTEGER NOT NULL CHECK (channel IN (1, 2, 3, 4))
);
CREATE INDEX raw_od_readings_ix ON raw_od_readings (experiment, pioreactor_unit, channel, timestamp);

CREATE TABLE od_readings_fused (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    od_reading      REAL NOT NULL
);
CREATE INDEX od_readings_fused_ix ON od_readings_fused (experiment, pioreactor_unit, timestamp);

CREATE TABLE od_readings_filtered (
    experiment            TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit       TEXT NOT NULL,
    timestamp             TEXT NOT NULL,
    normalized_od_reading REAL NOT NULL
);
CREATE INDEX od_readings_filtered_ix ON od_readings_filtered (experiment, pioreactor_unit, timestamp);

CREATE TABLE growth_rates (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    rate            REAL NOT NULL
);
CREATE INDEX growth_rates_ix ON growth_rates (experiment, pioreactor_unit, timestamp);

CREATE TABLE temperature_readings (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    temperature_c   REAL NOT NULL
);
CREATE INDEX temperature_readings_ix ON temperature_readings (experiment, pioreactor_unit, timestamp);

CREATE TABLE stirring_rates (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    measured_rpm    REAL NOT NULL
);
CREATE INDEX stirring_rates_ix ON stirring_rates (experiment, pioreactor_unit, timestamp);

CREATE TABLE alt_media_fractions (
    experiment         TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit    TEXT NOT NULL,
    timestamp          TEXT NOT NULL,
    alt_media_fraction REAL NOT NULL
);
CREATE INDEX alt_media_fractions_ix ON alt_media_fractions (experiment, pioreactor_unit, timestamp);

CREATE TABLE liquid_volumes (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    liquid_volume   REAL NOT NULL
);
CREATE INDEX liquid_volumes_ix ON liquid_volumes (experiment, pioreactor_unit, timestamp);

CREATE TABLE dosing_events (
    experiment       TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit  TEXT NOT NULL,
    timestamp        TEXT NOT NULL,
    event            TEXT NOT NULL,
    volume_change_ml REAL NOT NULL,
    source_of_event  TEXT
);
CREATE INDEX dosing_events_ix ON dosing_events (experiment, pioreactor_unit, timestamp);

CREATE TABLE led_change_events (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('A', 'B', 'C', 'D')),
    intensity       REAL NOT NULL,
    source_of_event TEXT
);
CREATE INDEX led_change_events_ix ON led_change_events (experiment, pioreactor_unit, timestamp);

CREATE TABLE od_blanks (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('1', '2', '3', '4')),
    angle           INTEGER NOT NULL,
    od_reading      REAL NOT NULL
);
CREATE INDEX od_blanks_ix ON od_blanks (experiment, pioreactor_unit, timestamp);

CREATE TABLE ir_led_intensities (
    experiment         TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit    TEXT NOT NULL,
    timestamp          TEXT NOT NULL,
    relative_intensity REAL NOT NULL
);
CREATE INDEX ir_led_intensities_ix ON ir_led_intensities (experiment, pioreactor_unit, timestamp);

CREATE TABLE pwm_dcs (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    channel_1       REAL,
    channel_2       REAL,
    channel_3       REAL,
    channel_4       REAL,
    channel_5       REAL
);
CREATE INDEX pwm_dcs_ix ON pwm_dcs (experiment, pioreactor_unit, timestamp);

CREATE TABLE dosing_automation_settings (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    ended_at        TEXT,
    automation_name TEXT NOT NULL,
    settings        BLOB NOT NULL
);
CREATE INDEX dosing_automation_settings_ix ON dosing_automation_settings (experiment, pioreactor_unit);

CREATE TABLE led_automation_settings (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    ended_at        TEXT,
    automation_name TEXT NOT NULL,
    settings        BLOB NOT NULL
);
CREATE INDEX led_automation_settings_ix ON led_automation_settings (experiment, pioreactor_unit);

CREATE TABLE temperature_automation_settings (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    ended_at        TEXT,
    automation_name TEXT NOT NULL,
    settings        BLOB NOT NULL
);
CREATE INDEX temperature_automation_settings_ix
    ON temperature_automation_settings (experiment, pioreactor_unit);

CREATE TABLE dosing_automation_events (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    event_name      TEXT NOT NULL,
    message         TEXT,
    data            TEXT
);
CREATE INDEX dosing_automation_events_ix ON dosing_automation_events (experiment, pioreactor_unit);

CREATE TABLE led_automation_events (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    event_name      TEXT NOT NULL,
    message         TEXT,
    data            TEXT
);
CREATE INDEX led_automation_events_ix ON led_automation_events (experiment, pioreactor_unit);

CREATE TABLE temperature_automation_events (
    experiment      TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    event_name      TEXT NOT NULL,
    message         TEXT,
    data            TEXT
);
CREATE INDEX temperature_automation_events_ix
    ON temperature_automation_events (experiment, pioreactor_unit);

-- Logs keep rows for pseudo-experiments such as '$experiment', so no foreign key here; rows of
-- a deleted experiment are removed by the trigger below instead.
CREATE TABLE logs (
    experiment      TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    message         TEXT NOT NULL,
    source          TEXT NOT NULL,
    level           TEXT NOT NULL,
    task            TEXT
);
CREATE INDEX logs_ix ON logs (experiment, timestamp DESC);
CREATE INDEX logs_level_ix ON logs (experiment, level, timestamp DESC);
CREATE INDEX logs_unit_ix ON logs (pioreactor_unit, timestamp DESC);
CREATE INDEX logs_only_level_ix ON logs (level, timestamp DESC);

CREATE TRIGGER delete_logs_of_deleted_experiment
AFTER DELETE ON experiments
BEGIN
    DELETE FROM logs WHERE experiment = OLD.experiment;
END;

-- One row per (experiment, unit, timestamp), filled only by the triggers below.
CREATE TABLE pioreactor_unit_activity_data (
    experiment                TEXT NOT NULL REFERENCES experiments (experiment) ON DELETE CASCADE,
    pioreactor_unit           TEXT NOT NULL,
    timestamp                 TEXT NOT NULL,
    od_reading                REAL,
    od_fused                  REAL,
    normalized_od_reading     REAL,
    temperature_c             REAL,
    growth_rate               REAL,
    measured_rpm              REAL,
    led_a_intensity_update    REAL,
    led_b_intensity_update    REAL,
    led_c_intensity_update    REAL,
    led_d_intensity_update    REAL,
    add_media_ml              REAL,
    remove_waste_ml           REAL,
    add_alt_media_ml          REAL,
    UNIQUE (experiment, pioreactor_unit, timestamp)
);

CREATE TRIGGER update_pioreactor_unit_activity_data_from_od_readings
AFTER INSERT ON od_readings
BEGIN
    INSERT INTO pioreactor_unit_activity_data (experiment, pioreactor_unit, timestamp, od_reading)
    VALUES (NEW.experiment, NEW.pioreactor_unit, NEW.timestamp, NEW.od_reading)
    ON CONFLICT (experiment, pioreactor_unit, timestamp)
    DO UPDATE SET od_reading = excluded.od_reading;
END;

CREATE TRIGGER update_pioreactor_unit_activity_data_from_od_readings_fused
AFTER INSERT ON od_readings_fused
BEGIN
    INSERT INTO pioreactor_unit_activity_data (experiment, pioreactor_unit, timestamp, od_fused)
    VALUES (NEW.experiment, NEW.pioreactor_unit, NEW.timestamp, NEW.od_reading)
    ON CONFLICT (experiment, pioreactor_unit, timestamp)
    DO UPDATE SET od_fused = excluded.od_fused;
END;

CREATE TRIGGER update_pioreactor_unit_activity_data_from_od_readings_filtered
AFTER INSERT ON od_readings_filtered
BEGIN
    INSERT INTO pioreactor_unit_activity_data
        (experiment, pioreactor_unit, timestamp, normalized_od_reading)
    VALUES (NEW.experiment, NEW.pioreactor_unit, NEW.timestamp, NEW.normalized_od_reading)
    ON CONFLICT (experiment, pioreactor_unit, timestamp)
    DO UPDATE SET normalized_od_reading = excluded.normalized_od_reading;
END;

CREATE TRIGGER update_pioreactor_unit_activity_data_from_growth_rates
AFTER INSERT ON growth_rates
BEGIN
    INSERT INTO pioreactor_unit_activity_data (experiment, pioreactor_unit, timestamp, growth_rate)
    VALUES (NEW.experiment, NEW.pioreactor_unit, NEW.timestamp, NEW.rate)
    ON CONFLICT (experiment, pioreactor_unit, timestamp)
    DO UPDATE SET growth_rate = excluded.growth_rate;
END;

CREATE TRIGGER update_pioreactor_unit_activity_data_from_temperature_readings
AFTER INSERT ON temperature_readings
BEGIN
    INSERT INTO pioreactor_unit_activity_data
        (experiment, pioreactor_unit, timestamp, temperature_c)
    VALUES (NEW.experiment, NEW.pioreactor_unit, NEW.timestamp, NEW.temperature_c)
    ON CONFLICT (experiment, pioreactor_unit, timestamp)
    DO UPDATE SET temperature_c = excluded.temperature_c;
END;

CREATE TRIGGER update_pioreactor_unit_activity_data_from_stirring_rates
AFTER INSERT ON stirring_rates
BEGIN
    INSERT INTO pioreactor_unit_activity_data (experiment, pioreactor_unit, timestamp, measured_rpm)
    VALUES (NEW.experiment, NEW.pioreactor_unit, NEW.timestamp, NEW.measured_rpm)
    ON CONFLICT (experiment, pioreactor_unit, timestamp)
    DO UPDATE SET measured_rpm = excluded.measured_rpm;
END;

CREATE TRIGGER update_pioreactor_unit_activity_data_from_led_change_events
AFTER INSERT ON led_change_events
BEGIN
    INSERT INTO pioreactor_unit_activity_data
        (experiment, pioreactor_unit, timestamp,
         led_a_intensity_update, led_b_intensity_update,
         led_c_intensity_update, led_d_intensity_update)
    VALUES (
        NEW.experiment, NEW.pioreactor_unit, NEW.timestamp,
        CASE WHEN NEW.channel = 'A' THEN NEW.intensity END,
        CASE WHEN NEW.channel = 'B' THEN NEW.intensity END,
        CASE WHEN NEW.channel = 'C' THEN NEW.intensity END,
        CASE WHEN NEW.channel = 'D' THEN NEW.intensity END)
    ON CONFLICT (experiment, pioreactor_unit, timestamp) DO UPDATE SET
        led_a_intensity_update = COALESCE(excluded.led_a_intensity_update, led_a_intensity_update),
        led_b_intensity_update = COALESCE(excluded.led_b_intensity_update, led_b_intensity_update),
        led_c_intensity_update = COALESCE(excluded.led_c_intensity_update, led_c_intensity_update),
        led_d_intensity_update = COALESCE(excluded.led_d_intensity_update, led_d_intensity_update);
END;

CREATE TRIGGER update_pioreactor_unit_activity_data_from_dosing_events
AFTER INSERT ON dosing_events
BEGIN
    INSERT INTO pioreactor_unit_activity_data
        (experiment, pioreactor_unit, timestamp, add_media_ml, remove_waste_ml, add_alt_media_ml)
    VALUES (
        NEW.experiment, NEW.pioreactor_unit, NEW.timestamp,
        CASE WHEN NEW.event = 'add_media' THEN NEW.volume_change_ml END,
        CASE WHEN NEW.event = 'remove_waste' THEN NEW.volume_change_ml END,
        CASE WHEN NEW.event = 'add_alt_media' THEN NEW.volume_change_ml END)
    ON CONFLICT (experiment, pioreactor_unit, timestamp) DO UPDATE SET
        add_media_ml = COALESCE(excluded.add_media_ml, add_media_ml),
        remove_waste_ml = COALESCE(excluded.remove_waste_ml, remove_waste_ml),
        add_alt_media_ml = COALESCE(excluded.add_alt_media_ml, add_alt_media_ml);
END;

-- The experiment inserted last (rowid order, as upstream), with whole hours since creation.
CREATE VIEW latest_experiment AS
SELECT experiment, created_at, description, media_used, organism_used,
       ROUND((julianday('now') - julianday(created_at)) * 24) AS delta_hours
  FROM experiments
 ORDER BY rowid DESC
 LIMIT 1;

-- Per experiment, unit and minute: averages of the readings and sums of the dosing volumes.
CREATE VIEW pioreactor_unit_activity_data_rollup AS
SELECT a.experiment,
       a.pioreactor_unit,
       strftime('%Y-%m-%dT%H:%M:00.000Z', a.timestamp) AS timestamp,
       ROUND((julianday(strftime('%Y-%m-%dT%H:%M:00', a.timestamp)) - julianday(e.created_at)) * 24, 4)
           AS hours_since_experiment_created,
       AVG(a.od_reading) AS avg_od_reading,
       AVG(a.od_fused) AS avg_od_fused,
       AVG(a.normalized_od_reading) AS avg_normalized_od_reading,
       AVG(a.temperature_c) AS avg_temperature_c,
       AVG(a.growth_rate) AS avg_growth_rate,
       AVG(a.measured_rpm) AS avg_measured_rpm,
       SUM(a.add_media_ml) AS sum_add_media_ml,
       SUM(a.remove_waste_ml) AS sum_remove_waste_ml,
       SUM(a.add_alt_media_ml) AS sum_add_alt_media_ml
  FROM pioreactor_unit_activity_data AS a
  JOIN experiments AS e ON e.experiment = a.experiment
 GROUP BY a.experiment, a.pioreactor_unit, strftime('%Y-%m-%dT%H:%M', a.timestamp);
