"""Which units a request is about: name checks and ``$broadcast`` expansion (Appendix A).

"Units" are the leader and every registered worker; "workers" are the registered workers.
Handlers never branch on ``$broadcast`` themselves: they ask one of the ``expand``/``narrow``
methods below, passing the candidate set the endpoint's row of Appendix A names.
"""

from __future__ import annotations

from collections.abc import Sequence

from pioleader.api.workers.store import WorkerStore
from pioleader.errors import ApiError

BROADCAST = "$broadcast"


class Targets:
    def __init__(self, workers: WorkerStore, leader: str) -> None:
        self._workers = workers
        self.leader = leader

    async def units(self) -> list[str]:
        """The leader and every worker, sorted, without duplicates."""
        return sorted({self.leader, *await self._workers.names()})

    async def workers(self) -> list[str]:
        return await self._workers.names()

    async def require_worker(self, unit: str) -> str:
        """400 unless ``unit`` is a registered worker (upstream's rule and message)."""
        if unit not in await self._workers.names():
            raise ApiError(
                400,
                f"Unknown Pioreactor worker: {unit}",
                cause=f"{unit!r} is not in the worker inventory.",
                remediation="Register it with PUT /api/workers, or check the spelling "
                "(GET /api/workers lists the workers).",
            )
        return unit

    async def require_unit(self, unit: str) -> str:
        if unit not in await self.units():
            raise ApiError(
                400,
                f"Unknown Pioreactor unit: {unit}",
                cause=f"{unit!r} is neither the leader nor a registered worker.",
                remediation="GET /api/units lists the units.",
            )
        return unit

    async def single_unit(self, unit: str) -> str:
        """One registered unit; ``$broadcast`` is a 400 (endpoints about one machine)."""
        if unit == BROADCAST:
            raise ApiError(
                400,
                "One unit at a time.",
                cause="pioreactor_unit: $broadcast is not allowed on this endpoint.",
                remediation="Name the unit you mean (GET /api/units lists them).",
            )
        return await self.require_unit(unit)

    async def expand_to_units(self, unit: str) -> list[str]:
        """``$broadcast``: every unit; otherwise the one registered unit (400 if unknown)."""
        if unit == BROADCAST:
            return await self.units()
        return [await self.require_unit(unit)]

    async def expand_to_worker(self, unit: str, broadcast: Sequence[str]) -> list[str]:
        """``$broadcast``: the units in ``broadcast``; otherwise the one registered worker."""
        if unit == BROADCAST:
            return list(broadcast)
        return [await self.require_worker(unit)]

    async def narrow(self, unit: str, candidates: Sequence[str]) -> list[str]:
        """``$broadcast``: every candidate; a registered unit: itself if it is a candidate,
        else nothing (the caller decides whether that is a 404). 400 if unregistered."""
        if unit == BROADCAST:
            return list(candidates)
        await self.require_unit(unit)
        return [unit] if unit in candidates else []

    async def topic_unit(self, unit: str) -> str:
        """The unit level of an MQTT topic: ``$broadcast`` itself, or a registered unit."""
        if unit == BROADCAST:
            return unit
        return await self.require_unit(unit)
