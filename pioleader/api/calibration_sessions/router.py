"""Guided calibration sessions, proxied to one worker (``$broadcast`` is refused: a session is
driven at one bench).

POST /api/workers/{pioreactor_unit}/calibrations/sessions,
GET /api/workers/{pioreactor_unit}/calibrations/sessions/{session_id},
POST /api/workers/{pioreactor_unit}/calibrations/sessions/{session_id}/inputs,
POST /api/workers/{pioreactor_unit}/calibrations/sessions/{session_id}/abort.

The worker's answer comes back as it is; its errors keep their status and fields, a worker that
does not answer is a 502.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import ValidationError

from pioleader.api.calibrations.service import UnitPath
from pioleader.cluster import UnitRequest, fanout
from pioleader.cluster.targets import BROADCAST
from pioleader.deps import ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.services import Services
from pioleader.unit.calibrations.handlers import check_name
from pioleader.unit.calibrations.models import SessionInputs, StartSession
from pioleader.unit.calibrations.steps import SessionAnswer

router = APIRouter(
    prefix="/api/workers/{pioreactor_unit}/calibrations/sessions", tags=["calibrations"]
)

SessionPath = Annotated[str, Path(description="Calibration session id.", max_length=100)]
# A step may run the pump or sweep the stirrer before the worker answers.
STEP_TIMEOUT_SECONDS = 300.0
ERRORS = error_responses(404, 409, 502)


async def _proxy(services: Services, pioreactor_unit: str, request: UnitRequest) -> SessionAnswer:
    if pioreactor_unit == BROADCAST:
        raise ApiError(
            400,
            "Calibration sessions need one worker.",
            cause="pioreactor_unit is $broadcast.",
            remediation="Name the worker whose device you are calibrating.",
        )
    unit = await services.targets.require_worker(pioreactor_unit)
    envelope = (await fanout(services.units, [unit], request))[unit]
    if envelope["ok"]:
        try:
            return SessionAnswer.model_validate(envelope["value"])
        except ValidationError as exc:
            raise ApiError(
                502,
                f"{unit} answered with something that is not a calibration session.",
                cause=str(exc.errors()[0]["msg"]) if exc.errors() else str(exc),
                remediation="Check that the worker runs the same pioleader version as the leader.",
            ) from exc
    error, status = envelope["error"], envelope["status_code"]
    if error["kind"] == "http_error" and status is not None and 400 <= status < 500:
        raise ApiError(
            status,
            error["message"],
            cause=error.get("cause"),
            remediation=error.get("remediation") or "Check the request and try again.",
        )
    raise ApiError(
        502,
        f"{unit} did not complete the request"
        + (f" (HTTP {status})." if status else ": it could not be reached."),
        cause=error["message"],
        remediation="Check that the worker is running (GET /api/workers), then retry.",
    )


def _session_path(session_id: str, action: str = "") -> str:
    return f"/unit_api/calibrations/sessions/{check_name(session_id, 'session_id')}{action}"


@router.post("", status_code=201, response_model=SessionAnswer, responses=ERRORS)
async def start_calibration_session(
    pioreactor_unit: UnitPath, body: StartSession, services: ServicesDep
) -> SessionAnswer:
    """Start a guided session of a protocol for a device of the worker (see
    calibration_protocols); the answer shows the session and its first step."""
    request = UnitRequest("POST", "/unit_api/calibrations/sessions", json=body.model_dump())
    return await _proxy(services, pioreactor_unit, request)


@router.get("/{session_id}", response_model=SessionAnswer, responses=ERRORS)
async def get_calibration_session(
    pioreactor_unit: UnitPath, session_id: SessionPath, services: ServicesDep
) -> SessionAnswer:
    return await _proxy(services, pioreactor_unit, UnitRequest("GET", _session_path(session_id)))


@router.post("/{session_id}/inputs", response_model=SessionAnswer, responses=ERRORS)
async def advance_calibration_session(
    pioreactor_unit: UnitPath, session_id: SessionPath, body: SessionInputs, services: ServicesDep
) -> SessionAnswer:
    """Submit the current step's inputs. Inputs that break the step's field rules are a 400
    and leave the session where it was; action steps run on the worker's hardware first."""
    request = UnitRequest(
        "POST",
        _session_path(session_id, "/inputs"),
        json=body.model_dump(),
        timeout=STEP_TIMEOUT_SECONDS,
    )
    return await _proxy(services, pioreactor_unit, request)


@router.post("/{session_id}/abort", response_model=SessionAnswer, responses=ERRORS)
async def abort_calibration_session(
    pioreactor_unit: UnitPath, session_id: SessionPath, services: ServicesDep
) -> SessionAnswer:
    request = UnitRequest("POST", _session_path(session_id, "/abort"), json={})
    return await _proxy(services, pioreactor_unit, request)
