-- Which calibration or estimator of each device is active (upstream's persistent cache tables),
-- and the guided calibration sessions of this unit.
CREATE TABLE active_calibrations (
    device           TEXT PRIMARY KEY,
    calibration_name TEXT NOT NULL
);

CREATE TABLE active_estimators (
    device         TEXT PRIMARY KEY,
    estimator_name TEXT NOT NULL
);

CREATE TABLE calibration_sessions (
    session_id    TEXT PRIMARY KEY,
    protocol_name TEXT NOT NULL,
    target_device TEXT NOT NULL,
    status        TEXT NOT NULL,
    step_id       TEXT NOT NULL,
    data          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    result        TEXT,
    error         TEXT
);
