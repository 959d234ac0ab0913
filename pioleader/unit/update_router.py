"""The unit API's software update: POST|PATCH /unit_api/system/update.

A simulated unit runs from the same Python environment as every other process of the
simulated cluster, so it cannot update itself alone: it answers, as a task under
``update-lock``, what it would install and that it did **not** update (``updated: false``,
``simulated: true``). The leader reports exactly that, so a cluster is never said to be
updated when it is not.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pioleader.errors import error_responses
from pioleader.tasks import TaskAccepted
from pioleader.unit.deps import UnitDep
from pioleader.unit.models import UpdateRequest

router = APIRouter(prefix="/unit_api/system", tags=["unit api"])


@router.post("/update", status_code=202, response_model=TaskAccepted, responses=error_responses())
@router.patch("/update", status_code=202, response_model=TaskAccepted, responses=error_responses())
async def update_software(unit: UnitDep, body: UpdateRequest | None = None) -> TaskAccepted:
    """Update this unit's software (a task); a simulated unit reports what it would do.

    The result is `{updated, simulated, unit, current_version, target, msg}`.
    """
    wanted = body or UpdateRequest()
    target = wanted.target_version or "the newest release on the package index"
    source = f" from {wanted.source}" if wanted.source else ""

    async def report() -> dict[str, Any]:
        return {
            "updated": False,
            "simulated": True,
            "unit": unit.name,
            "current_version": unit.version,
            "target": target,
            "msg": f"Would install pioleader {target}{source} and restart; a simulated unit "
            "shares its Python environment with the rest of the cluster, so nothing was "
            "changed.",
        }

    return await unit.tasks.submit("software update", report, lock="update-lock")
