"""mDNS for real, on loopback: a worker's announcement is found, and gone once it stops."""

from __future__ import annotations

import asyncio
import time

from zeroconf import InterfaceChoice

from pioleader.cluster.discovery import Announced, Announcer, ZeroconfDiscovery, interfaces_for

WORKER = Announced(
    pioreactor_unit="zc-test-unit",
    address="127.0.0.1",
    port=4321,
    model_name="pioreactor_20ml",
    model_version="1.1",
    version="0.1.0",
)


async def test_announced_worker_is_found_then_gone() -> None:
    """It should find the announced worker with its address, port and model, and not after it
    stopped announcing."""
    discovery = ZeroconfDiscovery(["127.0.0.1"], quiet_seconds=0.5)
    announcer = Announcer(WORKER)
    await announcer.start()
    try:
        found = [a for a in await discovery.browse() if a.pioreactor_unit == WORKER.pioreactor_unit]
        assert found == [WORKER]
        await announcer.close()
        deadline = time.monotonic() + 10
        while WORKER in await discovery.browse():  # the goodbye reaches the browser
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        again = Announcer(WORKER)
        await again.start()  # a worker that comes back is seen by the running browser
        try:
            while WORKER not in await discovery.browse():
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
        finally:
            await again.close()
    finally:
        await announcer.close()
        await discovery.aclose()


def test_interfaces() -> None:
    """It should browse loopback for a loopback leader, everything otherwise, unless told."""
    assert interfaces_for("127.0.0.1") == ["127.0.0.1"]
    assert interfaces_for("10.0.0.2") == InterfaceChoice.All
    assert interfaces_for("127.0.0.1", "10.0.0.2, 10.0.0.3") == ["10.0.0.2", "10.0.0.3"]
    assert interfaces_for("127.0.0.1", "all") == InterfaceChoice.All
