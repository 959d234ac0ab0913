"""Estimator endpoints of the unit API (estimators are made by sessions; there is no upload).

GET /unit_api/estimators, GET /unit_api/estimators/{device},
GET|DELETE /unit_api/estimators/{device}/{estimator_name}, GET /unit_api/active_estimators,
PATCH /unit_api/active_estimators/{device}/{estimator_name},
DELETE /unit_api/active_estimators/{device}.
"""

from __future__ import annotations

from fastapi import APIRouter

from pioleader.errors import error_responses
from pioleader.unit.calibrations import handlers
from pioleader.unit.calibrations.handlers import DevicePath, NamePath
from pioleader.unit.calibrations.models import Document, Success
from pioleader.unit.deps import UnitDep

router = APIRouter(prefix="/unit_api", tags=["unit api: estimators"])


@router.get("/estimators", response_model=dict[str, list[Document]], responses=error_responses())
async def get_all_estimators(unit: UnitDep) -> dict[str, list[Document]]:
    """Every stored estimator by device, with is_active, pioreactor_unit and device."""
    return await unit.estimators.list_all()


@router.get("/estimators/{device}", response_model=list[Document], responses=error_responses())
async def get_estimators_by_device(device: DevicePath, unit: UnitDep) -> list[Document]:
    return await handlers.list_device(unit.estimators, device, missing_is_empty=True)


@router.get(
    "/estimators/{device}/{estimator_name}",
    response_model=Document,
    responses=error_responses(404, 409),
)
async def get_estimator(device: DevicePath, estimator_name: NamePath, unit: UnitDep) -> Document:
    return await handlers.get_one(unit.estimators, device, estimator_name)


@router.delete(
    "/estimators/{device}/{estimator_name}",
    response_model=Success,
    responses=error_responses(404),
)
async def delete_estimator(device: DevicePath, estimator_name: NamePath, unit: UnitDep) -> Success:
    await handlers.delete_one(unit.estimators, device, estimator_name)
    return Success()


@router.get("/active_estimators", response_model=dict[str, Document], responses=error_responses())
async def get_all_active_estimators(unit: UnitDep) -> dict[str, Document]:
    return await unit.estimators.active_documents()


@router.patch(
    "/active_estimators/{device}/{estimator_name}",
    response_model=Success,
    responses=error_responses(404),
)
async def set_active_estimator(
    device: DevicePath, estimator_name: NamePath, unit: UnitDep
) -> Success:
    await handlers.set_active(unit.estimators, device, estimator_name)
    return Success()


@router.delete("/active_estimators/{device}", response_model=Success, responses=error_responses())
async def remove_active_status_estimator(device: DevicePath, unit: UnitDep) -> Success:
    await handlers.clear_active(unit.estimators, device)
    return Success()
