"""Guided calibration sessions of a unit: stored in its database, advanced step by step.

Each advance works on a copy of the session: inputs that break a field rule, or a step that
cannot act, leave the stored session exactly as it was. Advances of one unit run one at a time
(a step may hold the pump or the stirrer for a while); an abort does not wait for them.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from pioleader.clock import format_timestamp
from pioleader.db import Database, Row
from pioleader.unit.calibrations.protocols import Protocol, StepContext, find_protocol
from pioleader.unit.calibrations.steps import Session, SessionAnswer, check_inputs

_COLUMNS = (
    "session_id, protocol_name, target_device, status, step_id, data, created_at, updated_at,"
    " result, error"
)


class SessionNotFound(LookupError):
    pass


class SessionClosed(RuntimeError):
    """The session is complete, failed or aborted: it takes no more inputs."""


class UnknownProtocol(LookupError):
    pass


def _from_row(row: Row) -> Session:
    return Session(
        session_id=row["session_id"],
        protocol_name=row["protocol_name"],
        target_device=row["target_device"],
        status=row["status"],
        step_id=row["step_id"],
        data=json.loads(row["data"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        result=json.loads(row["result"]) if row["result"] else None,
        error=row["error"],
    )


class SessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, session_id: str) -> Session:
        def select(connection: sqlite3.Connection) -> Row | None:
            row: Row | None = connection.execute(
                f"SELECT {_COLUMNS} FROM calibration_sessions WHERE session_id = ?",  # noqa: S608
                (session_id,),
            ).fetchone()
            return row

        row = await self._db.read(select)
        if row is None:
            raise SessionNotFound(session_id)
        return _from_row(row)

    async def put(self, session: Session) -> None:
        values = (
            session.session_id,
            session.protocol_name,
            session.target_device,
            session.status,
            session.step_id,
            json.dumps(session.data),
            format_timestamp(session.created_at),
            format_timestamp(session.updated_at),
            json.dumps(session.result) if session.result is not None else None,
            session.error,
        )

        def upsert(connection: sqlite3.Connection) -> None:
            connection.execute(
                f"INSERT OR REPLACE INTO calibration_sessions ({_COLUMNS})"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )

        await self._db.write(upsert)


class SessionManager:
    def __init__(
        self,
        store: SessionStore,
        context: StepContext,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._store = store
        self._context = context
        self._new_id = new_id
        self._advancing = asyncio.Lock()

    def _protocol(self, session: Session) -> Protocol:
        protocol = find_protocol(session.protocol_name, session.target_device)
        if protocol is None:  # stored by a version that had it
            raise UnknownProtocol(f"{session.protocol_name} for {session.target_device}")
        return protocol

    def _answer(self, session: Session) -> SessionAnswer:
        return SessionAnswer(session=session, step=self._protocol(session).view(session))

    async def start(self, protocol_name: str, target_device: str) -> SessionAnswer:
        protocol = find_protocol(protocol_name, target_device)
        if protocol is None:
            raise UnknownProtocol(f"{protocol_name} for {target_device}")
        now = self._context.now()
        session = Session(
            session_id=self._new_id(),
            protocol_name=protocol_name,
            target_device=target_device,
            status="in_progress",
            step_id=protocol.first_step,
            data={},
            created_at=now,
            updated_at=now,
        )
        await self._store.put(session)
        return self._answer(session)

    async def get(self, session_id: str) -> SessionAnswer:
        return self._answer(await self._store.get(session_id))

    async def advance(self, session_id: str, inputs: dict[str, Any]) -> SessionAnswer:
        """Check ``inputs`` against the current step, let it act, move to the next step.

        Raises ``InputRefused`` or ``StepRefused`` with the stored session unchanged.
        """
        async with self._advancing:
            session = await self._store.get(session_id)
            if session.status != "in_progress":
                raise SessionClosed(session.status)
            protocol = self._protocol(session)
            step = protocol.steps[session.step_id]
            values = check_inputs(step.fields(session.data), inputs)
            working = session.model_copy(deep=True)
            if step.act is not None:
                working.step_id = await step.act(self._context, working, values)
            if protocol.steps[working.step_id].step_type == "result":
                working.status = "complete"
            working.updated_at = self._context.now()
            latest = await self._store.get(session_id)
            if latest.status != "in_progress":
                return self._answer(latest)  # aborted while the step ran
            await self._store.put(working)
            return self._answer(working)

    async def abort(self, session_id: str) -> SessionAnswer:
        session = await self._store.get(session_id)
        if session.status != "in_progress":
            raise SessionClosed(session.status)
        session.status = "aborted"
        session.error = "Aborted by the user."
        session.updated_at = self._context.now()
        await self._store.put(session)
        self._stop_devices(session.target_device)
        return self._answer(session)

    def _stop_devices(self, device: str) -> None:
        """Cleanup after an abort: whatever the protocol may have switched on goes off."""
        hardware = self._context.hardware
        try:
            if device.startswith("od"):
                hardware.set_ir_led(0.0)
            elif device == "stirring":
                hardware.set_pwm(device, 0.0)
            # A pump run is over when its step answers: nothing to switch off.
        except RuntimeError:
            pass  # a unit without hardware has nothing to switch off
