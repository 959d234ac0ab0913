-- Which version of the shared config.ini each worker has, as far as the leader knows: the
-- digest of the text it last acknowledged, and the last failed attempt. The leader pushes the
-- file again to every worker whose digest is not the current one (one that was offline catches
-- up when it is back). Not a Pioreactor table: upstream rsyncs and does not keep track.
CREATE TABLE config_sync_status (
    pioreactor_unit TEXT PRIMARY KEY,
    synced_digest   TEXT,
    synced_at       TEXT,
    attempted_at    TEXT NOT NULL,
    last_error      TEXT
);
