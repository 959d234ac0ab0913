"""Building the resources the leader and the workers both own, on an ``AsyncExitStack`` that
closes them in reverse order."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from pioleader.bus import Bus, MqttBus
from pioleader.bus.publisher import Will
from pioleader.clock import Clock
from pioleader.db import Database
from pioleader.settings import MqttSettings
from pioleader.tasks import TaskRunner, TaskStore, task_migrations
from pioleader.tasks.runner import new_task_id


async def open_task_runner(
    stack: contextlib.AsyncExitStack,
    path: Path,
    clock: Clock,
    *,
    unit_name: str,
    ttl_seconds: float,
    new_id: Callable[[], str] = new_task_id,
) -> TaskRunner:
    """A task runner over its own SQLite file, with what a previous run left failed."""
    db = Database(path, migrations=task_migrations(), readers=2)
    await db.open()
    stack.push_async_callback(db.close)
    tasks = TaskRunner(
        TaskStore(db), clock, unit_name=unit_name, ttl_seconds=ttl_seconds, new_id=new_id
    )
    await tasks.start()
    stack.push_async_callback(tasks.shutdown)
    return tasks


async def open_bus(
    stack: contextlib.AsyncExitStack,
    settings: MqttSettings,
    *,
    client_id: str,
    override: Bus | None = None,
    will: Will | None = None,
) -> Bus:
    """The given bus, or a connection to the broker that lives as long as the stack."""
    if override is not None:
        return override
    bus = MqttBus(settings, client_id=client_id, will=will)
    await bus.start()
    stack.push_async_callback(bus.stop)
    return bus
