"""Keeping every worker's copy of the shared ``config.ini`` the leader's.

A change is written on the leader, recorded in the history, then pushed to every worker over
HTTP (``PATCH /unit_api/config/shared``). Each worker's acknowledgement is recorded with the
digest of the text it got, so the answer says truthfully who has the change; a worker that did
not get it is pushed the current text again by ``catch_up``, which the leader runs every
``[pioleader] config_sync_interval_seconds`` (upstream reports success even when a worker was
offline, issue #542).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence

from pioleader.api.config.models import SyncState
from pioleader.api.config.store import SHARED_FILENAME, ConfigStore
from pioleader.clock import Clock
from pioleader.cluster import UnitClient, UnitRequest, fanout
from pioleader.cluster.targets import Targets
from pioleader.configuration import ConfigFiles

logger = logging.getLogger("pioleader.config")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ConfigSync:
    def __init__(
        self,
        *,
        files: ConfigFiles,
        store: ConfigStore,
        units: UnitClient,
        targets: Targets,
        clock: Clock,
    ) -> None:
        self._files = files
        self._store = store
        self._units = units
        self._targets = targets
        self._clock = clock
        # One change or push at a time, so that a worker never ends with an older text.
        self._lock = asyncio.Lock()

    async def shared_text(self) -> str:
        return await asyncio.to_thread(self._files.read_text, self._files.shared_path)

    async def record_current(self) -> None:
        """Put the file as it is now in the history (a hand edit, or the first start)."""
        await self._store.record_version(
            SHARED_FILENAME, await self.shared_text(), self._clock.now()
        )

    async def update_shared(self, text: str) -> dict[str, str | None]:
        """Write the shared file, keep the version, push it; ``{worker: error or None}``."""
        async with self._lock:
            await asyncio.to_thread(self._files.write_text, self._files.shared_path, text)
            await self._store.record_version(SHARED_FILENAME, text, self._clock.now())
            return await self._push(text, await self._targets.workers())

    async def catch_up(self) -> dict[str, str | None]:
        """Push the current text to every worker that has not acknowledged it."""
        async with self._lock:
            text = await self.shared_text()
            current = digest(text)
            rows = await self._store.sync_rows()
            behind = [
                unit
                for unit in await self._targets.workers()
                if rows.get(unit, {}).get("synced_digest") != current
            ]
            return await self._push(text, behind) if behind else {}

    async def states(self) -> list[SyncState]:
        current = digest(await self.shared_text())
        rows = await self._store.sync_rows()
        return [
            SyncState(
                pioreactor_unit=unit,
                synced=rows[unit]["synced_digest"] == current,
                synced_at=rows[unit]["synced_at"],
                attempted_at=rows[unit]["attempted_at"],
                last_error=rows[unit]["last_error"],
            )
            for unit in await self._targets.workers()
            if unit in rows
        ]

    async def run(self, interval_seconds: float) -> None:
        """Catch up every ``interval_seconds`` until cancelled."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                pushed = await self.catch_up()
            except Exception:  # a failed round must not end the loop
                logger.exception("config catch-up failed")
                continue
            for unit, error in pushed.items():
                if error is None:
                    logger.info("%s has the current shared config again", unit)

    async def _push(self, text: str, workers: Sequence[str]) -> dict[str, str | None]:
        if not workers:
            return {}
        envelopes = await fanout(
            self._units,
            workers,
            UnitRequest("PATCH", "/unit_api/config/shared", json={"code": text}),
        )
        current = digest(text)
        outcome: dict[str, str | None] = {}
        now = self._clock.now()
        for unit, envelope in envelopes.items():
            error = None if envelope["ok"] else _reason(envelope)
            await self._store.record_push(unit, None if error else current, error, now)
            outcome[unit] = error
        return outcome


def _reason(envelope: dict[str, object]) -> str:
    error = envelope.get("error")
    if isinstance(error, dict):
        message = str(error.get("message", "failed"))
        cause = error.get("cause")
        return f"{message} ({cause})" if cause and cause != message else message
    return "failed"
