"""Which units a request is about: name checks and ``$broadcast`` expansion (Appendix A).

"Units" are the leader and every registered worker; "workers" are the registered workers.
"""

from __future__ import annotations

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
