"""Reading and writing the configuration files of a data directory.

Layout: ``<data dir>/config.ini`` (shared, owned by the leader) and
``<data dir>/unit_config.ini`` (this unit's overrides). The effective configuration is the shared
file with the unit file read over it, as Pioreactor does.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from pioleader.configuration.defaults import (
    DEFAULT_UNIT_CONFIG,
    TopologyDefaults,
    default_shared_config,
)


def new_parser(*, strict: bool = False) -> configparser.ConfigParser:
    """A parser as Pioreactor configures it: case-sensitive keys, no interpolation.

    ``strict`` refuses duplicate sections and options (for checking text before writing it);
    merging files is never strict, so a unit file may repeat a shared section.
    """
    parser = configparser.ConfigParser(interpolation=None, strict=strict)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    return parser


@dataclass(frozen=True)
class UnitAddress:
    """Where a unit's HTTP API listens."""

    host: str
    port: int | None

    @property
    def ipv4(self) -> str | None:
        try:
            return str(ipaddress.IPv4Address(self.host))
        except ValueError:
            return None


def parse_unit_address(text: str) -> UnitAddress:
    """Parse ``host``, ``host:port`` or ``[v6]:port`` from ``[cluster.addresses]``."""
    value = text.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.lstrip(":")
        return UnitAddress(host, int(port) if port else None)
    if value.count(":") == 1:
        host, port = value.split(":")
        return UnitAddress(host, int(port))
    return UnitAddress(value, None)


class ConfigFiles:
    """The configuration files of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.shared_path = data_dir / "config.ini"
        self.unit_path = data_dir / "unit_config.ini"

    def ensure_defaults(self, topology: TopologyDefaults) -> bool:
        """Write default files where none exist; return True if the shared file was created."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        created = False
        if not self.shared_path.exists():
            self.shared_path.write_text(default_shared_config(topology), encoding="utf-8")
            created = True
        if not self.unit_path.exists():
            self.unit_path.write_text(DEFAULT_UNIT_CONFIG, encoding="utf-8")
        return created

    def shared(self) -> configparser.ConfigParser:
        parser = new_parser()
        parser.read(self.shared_path, encoding="utf-8")
        return parser

    def merged(self) -> configparser.ConfigParser:
        """Shared settings with this unit's read over them."""
        parser = new_parser()
        parser.read([self.shared_path, self.unit_path], encoding="utf-8")
        return parser

    def read_text(self, path: Path) -> str:
        """A configuration file's text; "" when it does not exist."""
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def write_text(self, path: Path, text: str) -> None:
        """Replace a configuration file at once: readers see the old text or the new one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.new")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)

    def merged_sections(self) -> dict[str, dict[str, str]]:
        """The effective configuration as ``{section: {key: value}}``, with the sections
        Pioreactor derives: ``PWM_reverse`` and ``leds_reverse`` (device → channel), no empty
        photodiode channels, and the leader in ``[cluster.addresses]``."""
        config = self.merged()
        sections = {name: dict(config.items(name)) for name in config.sections()}
        for forward in ("PWM", "leds"):
            if forward in sections:
                sections[f"{forward}_reverse"] = {
                    value: key for key, value in sections[forward].items() if value
                }
        channels = "od_config.photodiode_channel"
        if channels in sections:
            sections[channels] = {key: v for key, v in sections[channels].items() if v}
        topology = sections.get("cluster.topology", {})
        leader = topology.get("leader_hostname", "")
        if leader:
            addresses = sections.setdefault("cluster.addresses", {})
            addresses.setdefault(leader, topology.get("leader_address", ""))
        return sections

    def set_shared_values(self, updates: dict[tuple[str, str], str]) -> None:
        """Change a few keys of the shared file in place, keeping its comments and order."""
        lines = self.shared_path.read_text(encoding="utf-8").splitlines()
        pending = dict(updates)
        section = ""
        output: list[str] = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                output.extend(_remaining(pending, section))
                section = stripped[1:-1]
            elif "=" in stripped and not stripped.startswith(("#", ";")):
                key = stripped.split("=", 1)[0].strip()
                if (section, key) in pending:
                    line = f"{key}={pending.pop((section, key))}"
            output.append(line)
        output.extend(_remaining(pending, section))
        for (missing_section, key), value in pending.items():
            output.extend(["", f"[{missing_section}]", f"{key}={value}"])
        self.shared_path.write_text("\n".join(output) + "\n", encoding="utf-8")


def _remaining(pending: dict[tuple[str, str], str], section: str) -> list[str]:
    """Pop the pending keys of ``section`` that were not already in it, as new lines."""
    keys = [key for (sect, key) in pending if sect == section]
    return [f"{key}={pending.pop((section, key))}" for key in keys]
