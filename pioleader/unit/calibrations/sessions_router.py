"""Guided calibration sessions of the unit API.

POST /unit_api/calibrations/sessions, GET /unit_api/calibrations/sessions/{session_id},
POST /unit_api/calibrations/sessions/{session_id}/inputs,
POST /unit_api/calibrations/sessions/{session_id}/abort.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Path

from pioleader.errors import ApiError, error_responses
from pioleader.unit.calibrations.models import SessionInputs, StartSession
from pioleader.unit.calibrations.protocols import StepRefused
from pioleader.unit.calibrations.sessions import SessionClosed, SessionNotFound, UnknownProtocol
from pioleader.unit.calibrations.steps import InputRefused, SessionAnswer
from pioleader.unit.deps import UnitDep

router = APIRouter(prefix="/unit_api/calibrations/sessions", tags=["unit api: calibrations"])

SessionPath = Annotated[str, Path(description="Calibration session id.", max_length=100)]


@contextlib.contextmanager
def _answers(session_id: str | None = None) -> Iterator[None]:
    """The session manager's refusals as answers; the session stays where it was."""
    try:
        yield
    except SessionNotFound as exc:
        raise ApiError(
            404,
            "Calibration session not found.",
            cause=f"No session {session_id!r} on this unit.",
            remediation="Start one with POST /unit_api/calibrations/sessions.",
        ) from exc
    except UnknownProtocol as exc:
        raise ApiError(
            400,
            "Unknown calibration protocol.",
            cause=f"No protocol {exc} on this unit.",
            remediation="GET /unit_api/calibration_protocols lists the protocols per device.",
        ) from exc
    except SessionClosed as exc:
        raise ApiError(
            409,
            "Calibration session is over.",
            cause=f"Session {session_id!r} is {exc}; it takes no more inputs.",
            remediation="Start a new session.",
        ) from exc
    except InputRefused as exc:
        raise ApiError(
            400,
            str(exc),
            cause=f"inputs: {exc}",
            remediation="Send the fields of the current step (GET the session to see them).",
        ) from exc
    except StepRefused as exc:
        raise ApiError(
            409,
            "The step cannot run now.",
            cause=str(exc),
            remediation="Fix the cause and submit the step again.",
        ) from exc


@router.post("", status_code=201, response_model=SessionAnswer, responses=error_responses())
async def start_calibration_session(body: StartSession, unit: UnitDep) -> SessionAnswer:
    """Start a session of a protocol for a device; the answer shows its first step."""
    with _answers():
        return await unit.sessions.start(body.protocol_name, body.target_device)


@router.get("/{session_id}", response_model=SessionAnswer, responses=error_responses(404))
async def get_calibration_session(session_id: SessionPath, unit: UnitDep) -> SessionAnswer:
    with _answers(session_id):
        return await unit.sessions.get(session_id)


@router.post(
    "/{session_id}/inputs", response_model=SessionAnswer, responses=error_responses(404, 409)
)
async def advance_calibration_session(
    session_id: SessionPath, body: SessionInputs, unit: UnitDep
) -> SessionAnswer:
    """Submit the current step's inputs; an action step runs on the hardware before the
    answer comes (a pump run, a stirrer sweep, an OD measurement)."""
    with _answers(session_id):
        return await unit.sessions.advance(session_id, body.inputs)


@router.post(
    "/{session_id}/abort", response_model=SessionAnswer, responses=error_responses(404, 409)
)
async def abort_calibration_session(session_id: SessionPath, unit: UnitDep) -> SessionAnswer:
    """Mark the session aborted and switch off what its protocol may have switched on."""
    with _answers(session_id):
        return await unit.sessions.abort(session_id)
