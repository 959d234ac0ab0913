"""Sending calibration and estimator requests to workers, and zipping their calibrations."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import yaml

from pioleader.api.dispatch import fanout_task
from pioleader.cluster import UnitRequest, fanout
from pioleader.services import Services
from pioleader.tasks import TaskAccepted

# What a listing adds to the stored document; the zip holds the documents only.
_LISTING_KEYS = ("is_active", "pioreactor_unit")


async def to_workers(
    services: Services, pioreactor_unit: str, name: str, request: UnitRequest
) -> TaskAccepted:
    """A task sending ``request`` to the worker, or to every worker for ``$broadcast``."""
    units = await services.targets.expand_to_worker(
        pioreactor_unit, await services.targets.workers()
    )
    return await fanout_task(services, name, units, request)


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
