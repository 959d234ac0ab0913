-- The MQTT ingester's health, one row, rewritten with every batch it commits (and every few
-- seconds while idle), so the leader can report it without talking to the ingester process.
-- Not a Pioreactor table: upstream keeps these counters in its intermittent cache.
CREATE TABLE ingester_status (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    started_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    messages_received INTEGER NOT NULL DEFAULT 0,
    messages_ignored  INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    rows_written      INTEGER NOT NULL DEFAULT 0,
    rows_by_table     TEXT NOT NULL DEFAULT '{}',
    pending           INTEGER NOT NULL DEFAULT 0,
    lag_seconds       REAL NOT NULL DEFAULT 0,
    last_message_at   TEXT,
    connected         INTEGER NOT NULL DEFAULT 0 CHECK (connected IN (0, 1))
);
