"""The one fan-out function: the same (or a per-unit) request to many units at once.

Each unit gets its own timeout, so an unreachable or slow unit costs at most its timeout and
never delays the others. The result maps unit name to envelope; reads are sorted by unit name,
writes keep the order of the targets (behaviour §1.6).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from pioleader.cluster.client import UnitClient, UnitRequest

RequestFor = UnitRequest | Callable[[str], UnitRequest]


async def fanout(
    client: UnitClient, units: Sequence[str], request: RequestFor
) -> dict[str, dict[str, Any]]:
    """Send ``request`` to every unit; return ``{unit: envelope-as-JSON}``."""
    ordered = list(dict.fromkeys(units))
    requests = [request(unit) if callable(request) else request for unit in ordered]
    envelopes = await asyncio.gather(
        *(
            client.call(unit, unit_request)
            for unit, unit_request in zip(ordered, requests, strict=True)
        )
    )
    results = {envelope.unit: envelope.as_json() for envelope in envelopes}
    is_read = all(unit_request.method.upper() == "GET" for unit_request in requests)
    return dict(sorted(results.items())) if is_read else results
