"""Sending calibration and estimator requests to workers, and zipping their calibrations."""

from __future__ import annotations

import io
import zipfile
from typing import Annotated, Any

import yaml
from fastapi import Path, Request

from pioleader.api.dispatch import fanout_task
from pioleader.cluster import UnitRequest, fanout
from pioleader.services import Services
from pioleader.tasks import TaskAccepted
from pioleader.unit.calibrations.handlers import check_name

# What a listing adds to the stored document; the zip holds the documents only.
_LISTING_KEYS = ("is_active", "pioreactor_unit")


WORKER_PREFIX = "/api/workers/{pioreactor_unit}"
UnitPath = Annotated[str, Path(description="Worker name, or `$broadcast` for every worker.")]


async def to_workers(services: Services, request: Request, json: Any = None) -> TaskAccepted:
    """A task sending the same request to ``/unit_api/...`` of the worker named in the path, or
    of every worker for ``$broadcast``.

    The unit path is the route's own path below ``/api/workers/{pioreactor_unit}``, with its
    parameters, each checked to be one safe path component, filled in.
    """
    parameters = dict(request.path_params)
    pioreactor_unit = parameters.pop("pioreactor_unit")
    for name, value in parameters.items():
        check_name(value, name)
    template = request.scope["route"].path.removeprefix(WORKER_PREFIX)
    path = "/unit_api" + template.format(**parameters)
    units = await services.targets.expand_to_worker(
        pioreactor_unit, await services.targets.workers()
    )
    unit_request = UnitRequest(request.method, path, json=json)
    return await fanout_task(services, f"{request.method} {path}", units, unit_request)


def _zip(listings: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for unit, by_device in sorted(listings.items()):
            for device, calibrations in sorted(by_device.items()):
                for calibration in calibrations:
                    document = {k: v for k, v in calibration.items() if k not in _LISTING_KEYS}
                    archive.writestr(
                        f"{unit}/{device}/{document['calibration_name']}.yaml",
                        yaml.safe_dump(document, sort_keys=False),
                    )
    return buffer.getvalue()


async def zipped_calibrations(services: Services, pioreactor_unit: str) -> bytes:
    """Every calibration of the worker(s) as ``<worker>/<device>/<name>.yaml``; workers that do
    not answer are left out."""
    units = await services.targets.expand_to_worker(
        pioreactor_unit, await services.targets.workers()
    )
    request = UnitRequest("GET", "/unit_api/calibrations", timeout=60)
    envelopes = await fanout(services.units, units, request)
    listings = {
        unit: envelope["value"]
        for unit, envelope in envelopes.items()
        if envelope["ok"] and isinstance(envelope["value"], dict)
    }
    return _zip(listings)
