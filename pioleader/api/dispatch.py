"""Sending work to units from handlers: as a polled task, or fire-and-forget.

Both go through the one fan-out function; the difference is only who waits for the envelopes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import Response

from pioleader.cluster import UnitRequest, fanout
from pioleader.cluster.fanout import RequestFor
from pioleader.errors import ApiError
from pioleader.services import Services
from pioleader.tasks import TaskAccepted

logger = logging.getLogger("pioleader.dispatch")


def stop_jobs_of_experiment(experiment: str) -> UnitRequest:
    return UnitRequest("POST", "/unit_api/jobs/stop", json={"experiment": experiment})


STOP_ALL_JOBS = UnitRequest("POST", "/unit_api/jobs/stop/all", json={})


async def fanout_task(
    services: Services,
    name: str,
    units: Sequence[str],
    request: RequestFor,
    *,
    lock: str | None = None,
) -> TaskAccepted:
    """Start a task whose result is ``{unit: envelope}``; ``request`` may be one request for
    every unit or a function giving each unit its own."""
    targets = list(units)

    async def work() -> dict[str, dict[str, Any]]:
        return await fanout(services.units, targets, request)

    return await services.tasks.submit(name, work, lock=lock)


def fire_and_forget(
    services: Services, name: str, units: Sequence[str], request: UnitRequest
) -> None:
    """Send ``request`` to ``units`` without waiting; failures are logged per unit."""
    targets = list(units)
    if not targets:
        return

    async def work() -> None:
        for unit, envelope in (await fanout(services.units, targets, request)).items():
            if not envelope["ok"]:
                logger.warning(
                    "%s: %s %s failed on %s: %s",
                    name,
                    request.method,
                    request.path,
                    unit,
                    envelope["error"]["message"],
                )

    services.tasks.spawn(name, work())


def cache_for(response: Response, seconds: int) -> None:
    """Let browsers reuse a GET answer briefly, as upstream's UI expects."""
    response.headers["Cache-Control"] = f"public, max-age={seconds}"


def unit_failure(unit: str, envelope: dict[str, Any]) -> ApiError:
    """The error answer for one unit's failed envelope: the unit's own 4xx, else a 502."""
    error = envelope["error"]
    status = envelope.get("status_code")
    return ApiError(
        status if isinstance(status, int) and 400 <= status < 500 else 502,
        error.get("message", f"{unit} did not answer."),
        cause=f"{unit}: {error.get('cause') or error.get('message')}",
        remediation=error.get("remediation")
        or f"Check that {unit} is on and reachable, then retry.",
    )
