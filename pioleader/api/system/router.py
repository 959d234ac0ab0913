"""Endpoints for operations on whole units.

POST /api/workers/{pioreactor_unit}/blink,
PATCH /api/workers/{pioreactor_unit}/bioreactor/update/experiments/{experiment},
GET /api/units/{pioreactor_unit}/capabilities, GET /api/workers/{pioreactor_unit}/capabilities,
GET /api/units/{pioreactor_unit}/versions/app,
POST /api/units/{pioreactor_unit}/system/reboot, .../system/shutdown, .../system/repair,
GET /api/units/{pioreactor_unit}/system/utc_clock, POST /api/system/utc_clock.

Everything but blink is a fan-out task whose result is ``{unit: envelope}``; ``$broadcast``
expands as Appendix A says, through ``services.targets``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path

from pioleader.api.dispatch import fanout_task
from pioleader.api.experiments.router import experiment_not_found
from pioleader.api.jobs.models import Accepted
from pioleader.api.system.models import BioreactorUpdate, SetClock
from pioleader.bus import topics
from pioleader.cluster import UnitRequest
from pioleader.deps import ServicesDep
from pioleader.errors import error_responses
from pioleader.services import Services
from pioleader.tasks import TaskAccepted

router = APIRouter(tags=["system"])

UnitPath = Annotated[str, Path(description="Unit name, or `$broadcast` for every target.")]
ExperimentPath = Annotated[str, Path(description="Experiment name.")]

# Introspecting every installed job takes a unit a while (behaviour §3.3).
CAPABILITIES_TIMEOUT_SECONDS = 15.0


@router.post(
    "/api/workers/{pioreactor_unit}/blink",
    status_code=202,
    response_model=Accepted,
    responses=error_responses(503),
)
async def blink_worker(pioreactor_unit: UnitPath, services: ServicesDep) -> Accepted:
    """Ask a unit's monitor job (every unit's for `$broadcast`) to flash its LED.

    503 if the MQTT broker is unreachable.
    """
    unit = await services.targets.topic_unit(pioreactor_unit)
    await services.bus.publish(topics.blink(unit), 1, qos=1)
    return Accepted()


@router.patch(
    "/api/workers/{pioreactor_unit}/bioreactor/update/experiments/{experiment}",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404),
)
async def update_bioreactor_on_unit(
    pioreactor_unit: UnitPath,
    experiment: ExperimentPath,
    body: BioreactorUpdate,
    services: ServicesDep,
) -> TaskAccepted:
    """Change a worker's bioreactor values for the experiment (a task).

    `$broadcast` reaches every worker assigned to the experiment. 404 if the experiment does
    not exist.
    """
    if not await services.experiments.exists(experiment):
        raise experiment_not_found(experiment)
    assigned = [w.pioreactor_unit for w in await services.assignments.workers_in(experiment)]
    return await fanout_task(
        services,
        f"update bioreactor of {experiment}",
        await services.targets.expand_to_worker(pioreactor_unit, assigned),
        UnitRequest(
            "PATCH",
            f"/unit_api/bioreactor/experiments/{quote(experiment, safe='')}",
            json=body.model_dump(),
        ),
    )


async def _on_units(
    services: Services, pioreactor_unit: str, name: str, request: UnitRequest
) -> TaskAccepted:
    """Fan ``request`` out to the unit, or to every unit (the leader included) for
    `$broadcast`."""
    return await fanout_task(
        services, name, await services.targets.expand_to_units(pioreactor_unit), request
    )


@router.get(
    "/api/units/{pioreactor_unit}/capabilities",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
@router.get(
    "/api/workers/{pioreactor_unit}/capabilities",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def get_capabilities(pioreactor_unit: UnitPath, services: ServicesDep) -> TaskAccepted:
    """The jobs a unit can run, with their options and published settings (a task)."""
    return await _on_units(
        services,
        pioreactor_unit,
        "capabilities",
        UnitRequest("GET", "/unit_api/capabilities", timeout=CAPABILITIES_TIMEOUT_SECONDS),
    )


@router.get(
    "/api/units/{pioreactor_unit}/versions/app",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def get_app_versions(pioreactor_unit: UnitPath, services: ServicesDep) -> TaskAccepted:
    """The software version of a unit (a task)."""
    return await _on_units(
        services, pioreactor_unit, "app versions", UnitRequest("GET", "/unit_api/versions/app")
    )


@router.post(
    "/api/units/{pioreactor_unit}/system/reboot",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def reboot_unit(pioreactor_unit: UnitPath, services: ServicesDep) -> TaskAccepted:
    """Reboot a unit, or every unit (the leader included) for `$broadcast` (a task)."""
    return await _on_units(
        services, pioreactor_unit, "reboot", UnitRequest("POST", "/unit_api/system/reboot")
    )


@router.post(
    "/api/units/{pioreactor_unit}/system/shutdown",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def shutdown_unit(pioreactor_unit: UnitPath, services: ServicesDep) -> TaskAccepted:
    """Shut a unit down, or every unit (the leader included) for `$broadcast` (a task)."""
    return await _on_units(
        services, pioreactor_unit, "shutdown", UnitRequest("POST", "/unit_api/system/shutdown")
    )


@router.post(
    "/api/units/{pioreactor_unit}/system/repair",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def repair_unit(pioreactor_unit: UnitPath, services: ServicesDep) -> TaskAccepted:
    """Check and repair a unit, or every unit for `$broadcast` (a task)."""
    return await _on_units(
        services, pioreactor_unit, "repair", UnitRequest("POST", "/unit_api/system/repair")
    )


@router.get(
    "/api/units/{pioreactor_unit}/system/utc_clock",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def get_unit_utc_clock(pioreactor_unit: UnitPath, services: ServicesDep) -> TaskAccepted:
    """A unit's clock, or every unit's for `$broadcast` (a task)."""
    return await _on_units(
        services, pioreactor_unit, "utc clock", UnitRequest("GET", "/unit_api/system/utc_clock")
    )


@router.post(
    "/api/system/utc_clock",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def set_system_utc_clock(body: SetClock, services: ServicesDep) -> TaskAccepted:
    """Set every worker's clock to the given time (a task).

    The time must be ISO-8601 with a time zone; workers receive it in UTC (`...Z`).
    """
    return await fanout_task(
        services,
        "set utc clock",
        await services.targets.workers(),
        UnitRequest("POST", "/unit_api/system/utc_clock", json=body.model_dump()),
    )
