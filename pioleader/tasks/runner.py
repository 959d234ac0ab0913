"""Runs background work, owns every asyncio task it starts, and records the outcome.

``submit`` records a pending task before it answers, so a client that polls at once finds it;
the work then runs on the event loop, serialised with other work under the same lock name
(upstream's named Huey locks, but waiting instead of failing). ``spawn`` is for fire-and-forget
work, such as asking units to stop jobs, which has no task id but is still owned, logged and
cancelled at shutdown.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import to_jsonable_python

from pioleader.clock import Clock
from pioleader.errors import ApiError
from pioleader.tasks.models import TaskAccepted, TaskStatus, result_url_path
from pioleader.tasks.store import TaskStore

logger = logging.getLogger("pioleader.tasks")

Work = Callable[[], Awaitable[Any]]
ProgressReporter = Callable[[Any], None]

# The id of the task whose work is running in the current asyncio task.
_current_task: contextvars.ContextVar[str] = contextvars.ContextVar("pioleader_task_id")


def new_task_id() -> str:
    return str(uuid.uuid4())


class TaskRunner:
    def __init__(
        self,
        store: TaskStore,
        clock: Clock,
        *,
        unit_name: str,
        ttl_seconds: float,
        new_id: Callable[[], str] = new_task_id,
    ) -> None:
        self._store = store
        self._clock = clock
        self._unit_name = unit_name
        self._ttl = timedelta(seconds=ttl_seconds)
        self._new_id = new_id
        self._tasks: set[asyncio.Task[Any]] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        """Fail what a previous run left unfinished and drop expired results."""
        now = self._clock.now()
        interrupted = await self._store.fail_interrupted(now, now + self._ttl)
        if interrupted:
            logger.warning("%d task(s) were cut off by a restart and are now failed", interrupted)
        await self._store.purge_expired(now)

    async def submit(self, name: str, work: Work, *, lock: str | None = None) -> TaskAccepted:
        """Record a pending task, start ``work``, and return the 202 body that points at it."""
        task_id = self._new_id()
        now = self._clock.now()
        await self._store.purge_expired(now)
        await self._store.create(task_id, name, now)
        self._own(self._execute(task_id, name, work, lock), name=f"task:{name}:{task_id}")
        return TaskAccepted(
            unit=self._unit_name, task_id=task_id, result_url_path=result_url_path(task_id)
        )

    def spawn(self, name: str, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run fire-and-forget work; failures are logged, never lost silently."""
        # The coroutine is the task itself (not wrapped), so that a task cancelled before it
        # started still closes it: no "coroutine was never awaited" at shutdown.
        task = asyncio.create_task(coroutine, name=f"spawn:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda done: self._log_failure(name, done))

    def progress_reporter(self) -> ProgressReporter:
        """A function that records the current task's progress, callable from any thread.

        Call it from inside a task's work (for example before handing work to a thread); each
        call replaces the progress shown in the task's status.
        """
        task_id = _current_task.get()
        loop = asyncio.get_running_loop()

        def report(progress: Any) -> None:
            loop.call_soon_threadsafe(
                self.spawn,
                "task progress",
                self._store.set_progress(task_id, to_jsonable_python(progress), self._clock.now()),
            )

        return report

    async def status(self, task_id: str, now: datetime) -> TaskStatus | None:
        """The task's state, or None if unknown or expired."""
        return await self._store.get(task_id, now)

    async def wait_idle(self) -> None:
        """Wait until every task started so far (and any they start) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- internals -----------------------------------------------------------------------------

    def _own(self, coroutine: Coroutine[Any, Any, Any], *, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _log_failure(name: str, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            logger.error("background work %r failed", name, exc_info=error)

    async def _execute(self, task_id: str, name: str, work: Work, lock: str | None) -> None:
        try:
            if lock is None:
                await self._run(task_id, work)
            else:
                async with self._locks.setdefault(lock, asyncio.Lock()):
                    await self._run(task_id, work)
        except asyncio.CancelledError:
            await asyncio.shield(
                self._fail(
                    task_id,
                    "Task cancelled.",
                    "The leader shut down before the task finished.",
                    "Start the operation again.",
                )
            )
            raise
        except ApiError as error:
            await self._fail(task_id, error.error, error.cause, error.remediation)
        except Exception as error:
            logger.exception("task %s (%s) failed", task_id, name)
            await self._fail(
                task_id,
                str(error) or type(error).__name__,
                f"The task raised {type(error).__name__}.",
                "Check the leader's log and retry.",
            )

    async def _run(self, task_id: str, work: Work) -> None:
        _current_task.set(task_id)
        await self._store.mark_running(task_id, self._clock.now())
        result = to_jsonable_python(await work())
        now = self._clock.now()
        await self._store.succeed(task_id, result, now, now + self._ttl)

    async def _fail(self, task_id: str, error: str, cause: str, remediation: str) -> None:
        now = self._clock.now()
        await self._store.fail(
            task_id,
            error=error,
            cause=cause,
            remediation=remediation,
            now=now,
            expires=now + self._ttl,
        )
