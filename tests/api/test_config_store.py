"""ConfigStore on the real schema: versions kept once each, newest first; push outcomes that
never forget the last version a unit acknowledged."""

from __future__ import annotations

from datetime import timedelta

from pioleader.api.config.store import SHARED_FILENAME, ConfigStore, unit_filename
from pioleader.services import Services
from tests.conftest import START


async def test_versions_are_kept_once_and_newest_first(services: Services) -> None:
    """It should add a version only when it differs from the latest of that file."""
    store = ConfigStore(services.db)
    before = len(await store.history([SHARED_FILENAME]))  # the one recorded at start-up
    assert await store.record_version(SHARED_FILENAME, "[a]\nb=1\n", START)
    assert not await store.record_version(SHARED_FILENAME, "[a]\nb=1\n", START)
    assert await store.record_version(SHARED_FILENAME, "[a]\nb=2\n", START + timedelta(1))
    assert await store.record_version(unit_filename("pio01"), "[a]\nb=2\n", START)
    shared = await store.history([SHARED_FILENAME])
    assert len(shared) == before + 2
    assert [v.data for v in shared[:2]] == ["[a]\nb=2\n", "[a]\nb=1\n"]
    assert [v.filename for v in await store.history([unit_filename("pio01")])] == [
        "unit_config.ini::pio01"
    ]


async def test_a_failed_push_keeps_the_last_acknowledged_version(services: Services) -> None:
    """It should record an acknowledgement, then a failure without losing it."""
    store = ConfigStore(services.db)
    await store.record_push("pio01", "digest-1", None, START)
    await store.record_push("pio01", None, "refused", START + timedelta(seconds=5))
    row = (await store.sync_rows())["pio01"]
    assert row["synced_digest"] == "digest-1"
    assert row["synced_at"] == "2026-01-01T12:00:00.000Z"
    assert row["attempted_at"] == "2026-01-01T12:00:05.000Z"
    assert row["last_error"] == "refused"
    await store.record_push("pio01", "digest-2", None, START + timedelta(seconds=9))
    row = (await store.sync_rows())["pio01"]
    assert (row["synced_digest"], row["last_error"]) == ("digest-2", None)
