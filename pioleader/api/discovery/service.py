"""Adding a worker: find it (its announcement, the given address, or a new simulated worker),
point the cluster's address book at it, check that it answers as itself, then register it.

Every step that fails undoes the ones before it: the address entry is put back as it was and a
worker started for the purpose is stopped, so a failed setup leaves the cluster as it found it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from pioleader.api.discovery.models import WorkerSetup
from pioleader.cluster import UnitRequest, fanout
from pioleader.errors import ApiError
from pioleader.launcher import LaunchFailed
from pioleader.services import Services


def setup_failed(name: str, cause: str, remediation: str) -> ApiError:
    # Matches upstream: a failed setup is a 404 "Failed to add worker <name>." (§3.15).
    return ApiError(404, f"Failed to add worker {name}.", cause=cause, remediation=remediation)


async def _address(services: Services, body: WorkerSetup) -> tuple[str, bool]:
    """``host[:port]`` of the worker, and whether it was started for this setup."""
    name = body.name
    announced = {a.pioreactor_unit: a for a in await services.discovery.browse()}.get(name)
    if body.ipv4_address is not None:
        host = str(body.ipv4_address)
        if announced is not None and announced.address == host:
            return f"{host}:{announced.port}", False
        return host, False
    if announced is not None:
        return f"{announced.address}:{announced.port}", False
    if services.launcher is None:
        raise setup_failed(
            name,
            f"{name} does not announce itself over mDNS (_pio-worker._tcp), no ipv4_address "
            "was given, and this leader does not start simulated workers.",
            "Start the worker (pioleader worker --announce …) and retry, or give its "
            "ipv4_address; [pioleader] launch_simulated_workers=true lets the leader start "
            "simulated ones.",
        )
    try:
        port = await services.launcher.launch(name, (body.model, body.version))
    except LaunchFailed as error:
        raise setup_failed(
            name, f"The simulated worker did not start: {error}", "See the worker's log."
        ) from error
    return f"127.0.0.1:{port}", True


async def add_worker(services: Services, body: WorkerSetup, now: datetime) -> None:
    name = body.name
    address, launched = await _address(services, body)
    files = services.settings.config_files
    previous = await asyncio.to_thread(files.shared_path.read_text, encoding="utf-8")
    await asyncio.to_thread(files.set_shared_values, {("cluster.addresses", name): address})
    envelope = (await fanout(services.units, [name], UnitRequest("GET", "/unit_api/health")))[name]
    answered = envelope["value"].get("pioreactor_unit") if envelope["ok"] else None
    if answered != name:
        await asyncio.to_thread(files.shared_path.write_text, previous, encoding="utf-8")
        if launched and services.launcher is not None:
            await services.launcher.stop(name)
        cause = (
            f"{address} answered as {answered!r}, not {name!r}."
            if envelope["ok"]
            else f"{address} did not answer: {envelope['error']['message']}"
        )
        raise setup_failed(name, cause, "Check that the worker runs and is reachable; retry.")
    await services.workers.add(name, body.model, body.version, now)
    services.audit.log(f"Added worker {name} at {address}")
