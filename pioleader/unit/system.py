"""What a unit reports about its computer: disk, memory, address (``system_router.py``).

Each function reads files or the OS: call them from a thread.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pioleader.configuration import ConfigFiles
from pioleader.configuration.files import parse_unit_address


def disk_space(path: Path) -> tuple[int, int]:
    """(available, total) bytes of the filesystem holding the unit's data."""
    usage = shutil.disk_usage(path)
    return usage.free, usage.total


def memory(meminfo: Path = Path("/proc/meminfo")) -> tuple[int, int]:
    """(available, total) bytes of memory: Linux's own estimate of what is available."""
    values: dict[str, int] = {}
    try:
        for line in meminfo.read_text().splitlines():
            name, _, rest = line.partition(":")
            fields = rest.split()
            if fields and fields[0].isdigit():
                values[name] = int(fields[0]) * 1024
    except OSError:
        pass
    if "MemTotal" in values and "MemAvailable" in values:
        return values["MemAvailable"], values["MemTotal"]
    page = os.sysconf("SC_PAGE_SIZE")
    return page * os.sysconf("SC_AVPHYS_PAGES"), page * os.sysconf("SC_PHYS_PAGES")


def ipv4_address(files: ConfigFiles, unit: str, leader: str) -> str:
    """The unit's IPv4 address as the cluster knows it ("" when it is a host name)."""
    config = files.merged()
    if config.has_option("cluster.addresses", unit):
        address = parse_unit_address(config.get("cluster.addresses", unit))
        return address.ipv4 or ""
    if unit == leader:
        return (
            parse_unit_address(config.get("cluster.topology", "leader_address", fallback="")).ipv4
            or ""
        )
    return ""
