"""A simulated unit's software update: it says what it would do, and that it did not."""

from __future__ import annotations

import httpx

from pioleader.unit.services import UnitServices
from tests.unit.conftest import finished


async def test_simulated_update_changes_nothing(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should report updated: false with the version it would install."""
    done = await finished(unit_client, unit, await unit_client.post("/unit_api/system/update"))
    assert done["result"]["updated"] is False and done["result"]["simulated"] is True
    assert done["result"]["current_version"] == unit.version
    asked = await unit_client.patch(
        "/unit_api/system/update", json={"target_version": "9.9.9", "source": "r.zip"}
    )
    result = (await finished(unit_client, unit, asked))["result"]
    assert result["target"] == "9.9.9" and "9.9.9 from r.zip" in result["msg"]
    bad = await unit_client.post("/unit_api/system/update", json={"target_version": 9})
    assert bad.status_code == 400
