"""Where each unit's ``/unit_api`` listens.

Resolution (behaviour §1.3, extended with ports so that a whole cluster fits on one machine):
an entry ``<unit>=<host>[:<port>]`` in ``[cluster.addresses]`` of the shared config wins; the
leader is at ``leader_address``; ``localhost`` and IP literals are used as they are; any other
name becomes ``<unit>.local`` (mDNS). A missing port is ``[ui] port``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from dataclasses import dataclass

from pioleader.configuration import ConfigFiles, parse_unit_address


@dataclass(frozen=True)
class _Snapshot:
    stamp: tuple[int, int]
    proto: str
    default_port: int
    leader_hostname: str
    leader_address: str
    addresses: dict[str, str]


def _is_literal_host(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class UnitDirectory:
    """Resolves unit names to base URLs, re-reading the shared config when it changes."""

    def __init__(self, files: ConfigFiles) -> None:
        self._files = files
        self._snapshot: _Snapshot | None = None

    async def base_url(self, unit: str) -> str:
        snapshot = await self._current()
        return self._url(snapshot, unit)

    async def ipv4_addresses(self) -> dict[str, str | None]:
        """The IPv4 address configured for each unit in ``[cluster.addresses]``, if any."""
        snapshot = await self._current()
        return {unit: parse_unit_address(value).ipv4 for unit, value in snapshot.addresses.items()}

    async def _current(self) -> _Snapshot:
        path = self._files.shared_path
        stat = await asyncio.to_thread(os.stat, path)
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._snapshot is None or self._snapshot.stamp != stamp:
            self._snapshot = await asyncio.to_thread(self._read, stamp)
        return self._snapshot

    def _read(self, stamp: tuple[int, int]) -> _Snapshot:
        config = self._files.shared()
        return _Snapshot(
            stamp=stamp,
            proto=config.get("ui", "proto", fallback="http") or "http",
            default_port=int(config.get("ui", "port", fallback="80") or 80),
            leader_hostname=config.get("cluster.topology", "leader_hostname", fallback=""),
            leader_address=config.get("cluster.topology", "leader_address", fallback=""),
            addresses=dict(config.items("cluster.addresses"))
            if config.has_section("cluster.addresses")
            else {},
        )

    @staticmethod
    def _url(snapshot: _Snapshot, unit: str) -> str:
        if unit in snapshot.addresses:
            address = parse_unit_address(snapshot.addresses[unit])
        elif unit == snapshot.leader_hostname and snapshot.leader_address:
            address = parse_unit_address(snapshot.leader_address)
        elif _is_literal_host(unit):
            address = parse_unit_address(unit)
        else:
            address = parse_unit_address(f"{unit}.local")
        host = f"[{address.host}]" if ":" in address.host else address.host
        return f"{snapshot.proto}://{host}:{address.port or snapshot.default_port}"
