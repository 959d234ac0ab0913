"""Leader endpoints that only forward to the workers' ``/unit_api``, declared as a table.

Each row is one seed endpoint: method, path below ``/api/workers/{pioreactor_unit}``, the
seed's handler name (the route's name and operation id) and a description. The endpoint
functions below only differ by the path parameters they declare; what they do is
``to_workers``: the same request to the worker, or to every worker for ``$broadcast``, as a task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request

from pioleader.api.calibrations.service import UnitPath, to_workers
from pioleader.deps import ServicesDep
from pioleader.errors import error_responses
from pioleader.tasks import TaskAccepted
from pioleader.unit.calibrations.handlers import DevicePath, NamePath


async def for_unit(
    pioreactor_unit: UnitPath, services: ServicesDep, request: Request
) -> TaskAccepted:
    return await to_workers(services, request)


async def for_device(
    pioreactor_unit: UnitPath, device: DevicePath, services: ServicesDep, request: Request
) -> TaskAccepted:
    return await to_workers(services, request)


async def for_calibration(
    pioreactor_unit: UnitPath,
    device: DevicePath,
    calibration_name: NamePath,
    services: ServicesDep,
    request: Request,
) -> TaskAccepted:
    return await to_workers(services, request)


async def for_estimator(
    pioreactor_unit: UnitPath,
    device: DevicePath,
    estimator_name: NamePath,
    services: ServicesDep,
    request: Request,
) -> TaskAccepted:
    return await to_workers(services, request)


@dataclass(frozen=True)
class Forward:
    method: str
    path: str
    name: str
    description: str
    endpoint: Callable[..., Any]


def register(router: APIRouter, rows: Sequence[Forward]) -> None:
    for row in rows:
        router.add_api_route(
            row.path,
            row.endpoint,
            methods=[row.method],
            name=row.name,
            summary=row.name.replace("_", " ").capitalize(),
            description=row.description
            + " A task (202); its result is `{worker: envelope}`; `$broadcast` reaches every"
            " worker.",
            status_code=202,
            response_model=TaskAccepted,
            responses=error_responses(),
        )
