"""Finding workers on the network: mDNS/DNS-SD service ``_pio-worker._tcp`` (python-zeroconf).

A worker started with ``--announce`` registers ``<unit>._pio-worker._tcp.local.`` with its
address, port and model (TXT properties); the leader browses for that service type until no
new worker has appeared for a quiet spell (upstream browses with avahi until 1.5 s of silence).
Both sides work on loopback, which is where a simulated cluster lives: the interfaces default
to 127.0.0.1 when the address is a loopback one, and to every interface otherwise.

``Discovery`` is the seam the leader uses; tests may give another implementation through
``Overrides``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass
from typing import Protocol

from zeroconf import InterfaceChoice, IPVersion, ServiceInfo, ServiceListener, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

logger = logging.getLogger("pioleader.discovery")

SERVICE_TYPE = "_pio-worker._tcp.local."
Interfaces = list[str] | InterfaceChoice


@dataclass(frozen=True)
class Announced:
    """A worker that announces itself."""

    pioreactor_unit: str
    address: str
    port: int
    model_name: str | None = None
    model_version: str | None = None
    version: str | None = None


class Discovery(Protocol):
    async def browse(self) -> list[Announced]:
        """The workers announcing themselves now, sorted by name."""
        ...

    async def aclose(self) -> None: ...


def interfaces_for(address: str, configured: str = "") -> Interfaces:
    """``configured`` (comma-separated addresses, or "all") wins; otherwise loopback for a
    loopback address, every interface for any other."""
    value = configured.strip()
    if value.lower() == "all":
        return InterfaceChoice.All
    if value:
        return [part.strip() for part in value.split(",") if part.strip()]
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        loopback = address == "localhost"
    return ["127.0.0.1"] if loopback else InterfaceChoice.All


class _Names(ServiceListener):
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.last_new = time.monotonic()

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        if name not in self.names:
            self.names.add(name)
            self.last_new = time.monotonic()

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.add_service(zc, type_, name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.names.discard(name)


def _text(properties: dict[bytes, bytes | None], key: str) -> str | None:
    value = properties.get(key.encode())
    return value.decode("utf-8", "replace") if value else None


class ZeroconfDiscovery:
    """One browser for the leader's lifetime, started by the first ``browse``.

    A long-lived browser sees announcements and goodbyes as they happen; browsing afresh for
    every request would miss answers, since responders rate-limit repeated answers (RFC 6762).
    The first ``browse`` listens until no new worker appeared for ``quiet_seconds``.
    """

    def __init__(
        self, interfaces: Interfaces, *, quiet_seconds: float = 1.5, max_seconds: float = 10.0
    ) -> None:
        self._interfaces = interfaces
        self._quiet = quiet_seconds
        self._max = max_seconds
        self._zeroconf: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._listener = _Names()
        self._starting = asyncio.Lock()

    async def _start(self) -> AsyncZeroconf:
        async with self._starting:
            if self._zeroconf is not None:
                return self._zeroconf
            zeroconf = AsyncZeroconf(interfaces=self._interfaces, ip_version=IPVersion.V4Only)
            self._listener.last_new = time.monotonic()
            self._browser = AsyncServiceBrowser(
                zeroconf.zeroconf, SERVICE_TYPE, listener=self._listener
            )
            started = time.monotonic()
            # Browsing is listening: answers arrive over this window, then stop coming.
            while True:
                now = time.monotonic()
                if now - self._listener.last_new >= self._quiet or now - started >= self._max:
                    break
                await asyncio.sleep(0.1)
            self._zeroconf = zeroconf
            return zeroconf

    async def browse(self) -> list[Announced]:
        zeroconf = await self._start()
        found = []
        for name in sorted(self._listener.names):
            info = await zeroconf.async_get_service_info(SERVICE_TYPE, name, 1500)
            announced = _announced(info) if info is not None else None
            if announced is not None:
                found.append(announced)
        return sorted(found, key=lambda a: a.pioreactor_unit)

    async def aclose(self) -> None:
        if self._browser is not None:
            await self._browser.async_cancel()
        if self._zeroconf is not None:
            await self._zeroconf.async_close()


def _announced(info: ServiceInfo) -> Announced | None:
    properties = info.properties
    unit = _text(properties, "unit") or info.name.split(".", 1)[0]
    addresses = info.parsed_addresses(IPVersion.V4Only)
    if not addresses or info.port is None:
        return None
    return Announced(
        pioreactor_unit=unit,
        address=addresses[0],
        port=info.port,
        model_name=_text(properties, "model_name"),
        model_version=_text(properties, "model_version"),
        version=_text(properties, "version"),
    )


class Announcer:
    """Registers this worker's service for as long as it runs."""

    def __init__(self, worker: Announced) -> None:
        self._worker = worker
        self._zeroconf: AsyncZeroconf | None = None

    async def start(self) -> None:
        worker = self._worker
        self._zeroconf = AsyncZeroconf(
            interfaces=interfaces_for(worker.address), ip_version=IPVersion.V4Only
        )
        properties = {
            key: value
            for key, value in {
                "unit": worker.pioreactor_unit,
                "model_name": worker.model_name,
                "model_version": worker.model_version,
                "version": worker.version,
            }.items()
            if value is not None
        }
        info = ServiceInfo(
            SERVICE_TYPE,
            f"{worker.pioreactor_unit}.{SERVICE_TYPE}",
            addresses=[socket.inet_aton(worker.address)],
            port=worker.port,
            properties=properties,
            server=f"{worker.pioreactor_unit}.local.",
        )
        await self._zeroconf.async_register_service(info, allow_name_change=False)
        logger.info("announcing %s over mDNS", worker.pioreactor_unit)

    async def close(self) -> None:
        zeroconf, self._zeroconf = self._zeroconf, None
        if zeroconf is not None:
            await zeroconf.async_unregister_all_services()
            await zeroconf.async_close()
