"""The database layer and the schema, on real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pioleader.db import Database, app_migrations
from pioleader.db.migrations import SchemaTooNew


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(tmp_path / "app.sqlite", migrations=app_migrations())
    await database.open()
    yield database
    await database.close()


async def test_schema_is_versioned_and_in_wal(db: Database) -> None:
    """It should apply every migration once and use WAL with foreign keys."""

    def pragmas(c: sqlite3.Connection) -> tuple[int, int]:
        return (
            c.execute("PRAGMA user_version").fetchone()["user_version"],
            c.execute("PRAGMA foreign_keys").fetchone()["foreign_keys"],
        )

    assert await db.read(pragmas) == (len(app_migrations()), 1)
    mode = await db.write(lambda c: c.execute("PRAGMA journal_mode").fetchone()["journal_mode"])
    assert mode == "wal"


async def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    """It should leave an up-to-date database alone and refuse a newer one."""
    path = tmp_path / "app.sqlite"
    first = Database(path, migrations=app_migrations())
    await first.open()
    await first.write(
        lambda c: c.execute("INSERT INTO experiments VALUES ('e', 'now', NULL, NULL, NULL)")
    )
    await first.close()
    second = Database(path, migrations=app_migrations())
    await second.open()
    rows = await second.read(lambda c: c.execute("SELECT experiment FROM experiments").fetchall())
    assert rows == [{"experiment": "e"}]
    await second.write(lambda c: c.execute("PRAGMA user_version = 99"))
    await second.close()
    newer = Database(path, migrations=app_migrations())
    with pytest.raises(SchemaTooNew):
        await newer.open()
    await newer.close()


async def test_write_rolls_back_on_error(db: Database) -> None:
    """It should leave nothing half-written when a write transaction fails."""

    def half(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO experiments (experiment, created_at) VALUES ('a', 't')")
        c.execute("INSERT INTO experiments (experiment, created_at) VALUES ('a', 't')")

    with pytest.raises(sqlite3.IntegrityError):
        await db.write(half)
    rows = await db.read(lambda c: c.execute("SELECT * FROM experiments").fetchall())
    assert rows == []


async def test_readers_cannot_write(db: Database) -> None:
    """It should open readers read-only."""
    with pytest.raises(sqlite3.OperationalError):
        await db.read(
            lambda c: c.execute("INSERT INTO experiments VALUES ('a','t',NULL,NULL,NULL)")
        )


async def test_activity_triggers_merge_readings(db: Database) -> None:
    """It should fold readings of one timestamp into one pioreactor_unit_activity_data row."""

    def insert(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO experiments (experiment, created_at) VALUES ('e', 't')")
        ts = "2026-01-01T00:00:00.000Z"
        c.execute("INSERT INTO od_readings VALUES ('e', 'pio01', ?, 0.5, 90, 2)", (ts,))
        c.execute("INSERT INTO growth_rates VALUES ('e', 'pio01', ?, 0.1)", (ts,))
        c.execute(
            "INSERT INTO dosing_events VALUES ('e', 'pio01', ?, 'add_media', 1.0, 'x')", (ts,)
        )
        c.execute("INSERT INTO led_change_events VALUES ('e', 'pio01', ?, 'B', 30, 'x')", (ts,))

    await db.write(insert)
    rows = await db.read(
        lambda c: c.execute(
            "SELECT od_reading, growth_rate, add_media_ml, led_b_intensity_update, remove_waste_ml"
            " FROM pioreactor_unit_activity_data"
        ).fetchall()
    )
    assert rows == [
        {
            "od_reading": 0.5,
            "growth_rate": 0.1,
            "add_media_ml": 1.0,
            "led_b_intensity_update": 30,
            "remove_waste_ml": None,
        }
    ]


async def test_assignment_history_and_cascade(db: Database) -> None:
    """It should keep assignment history by trigger and cascade deletes of experiments."""

    def setup(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO experiments (experiment, created_at) VALUES ('e', 't')")
        c.execute("INSERT INTO workers (pioreactor_unit, added_at) VALUES ('pio01', 't')")
        c.execute("INSERT INTO experiment_worker_assignments VALUES ('pio01', 'e', 'a1')")
        c.execute("INSERT INTO logs VALUES ('e', 'pio01', 't', 'm', 's', 'INFO', '')")
        c.execute("INSERT INTO logs VALUES ('$experiment', 'pio01', 't', 'm', 's', 'INFO', '')")

    await db.write(setup)
    await db.write(lambda c: c.execute("DELETE FROM experiments WHERE experiment = 'e'"))

    def state(c: sqlite3.Connection) -> tuple[list, list, list]:
        return (
            c.execute("SELECT * FROM experiment_worker_assignments").fetchall(),
            c.execute(
                "SELECT experiment, assigned_at, unassigned_at IS NOT NULL AS closed"
                " FROM experiment_worker_assignments_history"
            ).fetchall(),
            c.execute("SELECT experiment FROM logs").fetchall(),
        )

    assignments, history, logs = await db.read(state)
    assert assignments == []
    assert history == [{"experiment": "e", "assigned_at": "a1", "closed": 1}]
    assert logs == [{"experiment": "$experiment"}]


async def test_base64_function(db: Database) -> None:
    """It should provide BASE64() for dataset queries."""
    value = await db.read(lambda c: c.execute("SELECT BASE64('aGVsbG8=') AS v").fetchone()["v"])
    assert value == "hello"
