"""Estimator endpoints of the leader; each reaches the worker's /unit_api (a task), or every
worker for ``$broadcast``. Estimators are made by sessions: there is no upload.

GET /api/workers/{pioreactor_unit}/estimators,
GET /api/workers/{pioreactor_unit}/estimators/{device},
GET|DELETE /api/workers/{pioreactor_unit}/estimators/{device}/{estimator_name},
GET /api/workers/{pioreactor_unit}/active_estimators,
PATCH /api/workers/{pioreactor_unit}/active_estimators/{device}/{estimator_name},
DELETE /api/workers/{pioreactor_unit}/active_estimators/{device}.
"""

from __future__ import annotations

from fastapi import APIRouter

from pioleader.api.calibrations.forwarding import (
    Forward,
    for_device,
    for_estimator,
    for_unit,
    register,
)
from pioleader.api.calibrations.service import WORKER_PREFIX

router = APIRouter(prefix=WORKER_PREFIX, tags=["estimators"])

ONE = "/estimators/{device}/{estimator_name}"
register(
    router,
    [
        Forward("GET", "/estimators", "get_all_estimators",
                "Each worker's estimators by device, with is_active and device.", for_unit),
        Forward("GET", "/estimators/{device}", "get_estimators_by_device",
                "The worker's estimators of one device (empty when none).", for_device),
        Forward("GET", ONE, "get_estimator", "One estimator.", for_estimator),
        Forward("DELETE", ONE, "delete_estimator",
                "Delete an estimator; a device whose active one it was has none.", for_estimator),
        Forward("GET", "/active_estimators", "get_all_active_estimators",
                "The active estimator of each device.", for_unit),
        Forward("PATCH", "/active_estimators/{device}/{estimator_name}", "set_active_estimator",
                "Make a stored estimator the device's active one.", for_estimator),
        Forward("DELETE", "/active_estimators/{device}", "remove_active_status_estimator",
                "The device has no active estimator any more.", for_device),
    ],
)  # fmt: skip
