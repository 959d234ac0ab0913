"""The task runner and its SQLite store: states, persistence across restarts, expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pioleader.clock import ManualClock
from pioleader.db import Database
from pioleader.errors import ApiError
from pioleader.tasks import TaskRunner, TaskStore, task_migrations

START = datetime(2026, 1, 1, tzinfo=UTC)


async def open_runner(path: Path, clock: ManualClock) -> tuple[TaskRunner, Database]:
    db = Database(path, migrations=task_migrations())
    await db.open()
    runner = TaskRunner(TaskStore(db), clock, unit_name="leader", ttl_seconds=60)
    await runner.start()
    return runner, db


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def test_task_goes_pending_running_succeeded(tmp_path: Path, clock: ManualClock) -> None:
    """It should report pending, then running, then succeeded with the result."""
    runner, db = await open_runner(tmp_path / "t.sqlite", clock)
    gate = asyncio.Event()
    started = asyncio.Event()

    async def work() -> dict[str, int]:
        started.set()
        await gate.wait()
        return {"answer": 42}

    accepted = await runner.submit("demo", work)
    assert accepted.unit == "leader"
    assert accepted.result_url_path == f"/unit_api/task_results/{accepted.task_id}"
    first = await runner.status(accepted.task_id, clock.now())
    assert first is not None and first.status in ("pending", "running")
    await started.wait()
    assert (await runner.status(accepted.task_id, clock.now())).status == "running"
    gate.set()
    await runner.wait_idle()
    done = await runner.status(accepted.task_id, clock.now())
    assert done.status == "succeeded" and done.result == {"answer": 42}
    await runner.shutdown()
    await db.close()


async def test_failures_keep_error_cause_remediation(tmp_path: Path, clock: ManualClock) -> None:
    """It should record an ApiError's fields, and a plain exception's message."""
    runner, db = await open_runner(tmp_path / "t.sqlite", clock)

    async def api_failure() -> None:
        raise ApiError(404, "Nope", cause="because", remediation="do this")

    async def crash() -> None:
        raise ValueError("bad value")

    first = await runner.submit("a", api_failure)
    second = await runner.submit("b", crash)
    await runner.wait_idle()
    failed = await runner.status(first.task_id, clock.now())
    assert (failed.status, failed.error, failed.cause, failed.remediation) == (
        "failed",
        "Nope",
        "because",
        "do this",
    )
    crashed = await runner.status(second.task_id, clock.now())
    assert crashed.status == "failed" and crashed.error == "bad value"
    assert "ValueError" in crashed.cause
    await runner.shutdown()
    await db.close()


async def test_results_survive_restart_and_interrupted_tasks_fail(
    tmp_path: Path, clock: ManualClock
) -> None:
    """It should keep finished results across a restart and fail what a restart cut off."""
    path = tmp_path / "t.sqlite"
    runner, db = await open_runner(path, clock)

    async def quick() -> str:
        return "done"

    async def forever() -> None:
        await asyncio.Event().wait()

    finished = await runner.submit("quick", quick)
    await asyncio.wait_for(_until_status(runner, finished.task_id, clock, "succeeded"), 5)
    cut_off = await runner.submit("forever", forever)
    # Simulate a crash: the task is left 'running' in the store, nothing marks it.
    await asyncio.wait_for(_until_status(runner, cut_off.task_id, clock, "running"), 5)
    await db.close()

    restarted, db2 = await open_runner(path, clock)
    assert (await restarted.status(finished.task_id, clock.now())).result == "done"
    interrupted = await restarted.status(cut_off.task_id, clock.now())
    assert interrupted.status == "failed"
    assert "stopped" in interrupted.cause
    await restarted.shutdown()
    await runner.shutdown()
    await db2.close()


async def test_results_expire(tmp_path: Path, clock: ManualClock) -> None:
    """It should forget a result once its time to live has passed."""
    runner, db = await open_runner(tmp_path / "t.sqlite", clock)

    async def quick() -> int:
        return 1

    accepted = await runner.submit("quick", quick)
    await runner.wait_idle()
    clock.advance(timedelta(seconds=59))
    assert await runner.status(accepted.task_id, clock.now()) is not None
    clock.advance(timedelta(seconds=2))
    assert await runner.status(accepted.task_id, clock.now()) is None
    await runner.shutdown()
    await db.close()


async def test_named_lock_serialises(tmp_path: Path, clock: ManualClock) -> None:
    """It should run tasks sharing a lock one after the other."""
    runner, db = await open_runner(tmp_path / "t.sqlite", clock)
    active = 0
    most = 0

    async def work() -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        active -= 1

    for _ in range(5):
        await runner.submit("locked", work, lock="the-lock")
    await runner.wait_idle()
    assert most == 1
    await runner.shutdown()
    await db.close()


async def _until_status(runner: TaskRunner, task_id: str, clock: ManualClock, state: str) -> None:
    # Polls the store (callers bound it with wait_for): the state lives in SQLite, not in an Event.
    while (await runner.status(task_id, clock.now())).status != state:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
