"""What a unit reports about its computer: disk, memory, address, and its data directory's
files for the file browser (``system_router.py``).

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


class OutsideDataDir(ValueError):
    """A browsed path that is not inside the data directory (``..``, an absolute path, a
    symbolic link leading out, or a character no file name has)."""


def inside_data_dir(data_dir: Path, relative: str) -> Path:
    """The real path of ``relative`` under ``data_dir``; OutsideDataDir if it would leave it
    (the check is on the resolved path, so symbolic links cannot lead out)."""
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if ".." in parts or "\x00" in relative:
        raise OutsideDataDir(relative)
    base = data_dir.resolve()
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base):
        raise OutsideDataDir(relative)
    return target


def list_directory(directory: Path) -> tuple[list[str], list[str]]:
    """(subdirectory names, file names) of ``directory``, each sorted. Symbolic links are
    left out: they may lead out of the data directory."""
    dirs: list[str] = []
    files: list[str] = []
    for entry in os.scandir(directory):
        if entry.is_symlink():
            continue
        if entry.is_dir():
            dirs.append(entry.name)
        elif entry.is_file():
            files.append(entry.name)
    return sorted(dirs), sorted(files)
