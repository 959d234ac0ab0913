"""The leader's runtime settings, resolved once at start-up.

They come from the data directory's configuration files, with command-line values taking
precedence; nothing is read from the environment. ``load_leader_settings`` is the only place
that turns files into settings, and ``create_app`` takes the result, so tests build settings
for a temporary directory and never patch anything.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass, field, replace
from pathlib import Path

from pioleader.configuration import ConfigFiles
from pioleader.configuration.defaults import TopologyDefaults


def default_data_dir() -> Path:
    """``~/.pioleader``: the default data directory, overridable everywhere."""
    return Path.home() / ".pioleader"


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    ws_port: int = 9001
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class UnitTimeouts:
    """Per-unit timeouts of the leader's requests to units (upstream §1.3)."""

    read_seconds: float = 5.0
    write_seconds: float = 2.0
    task_seconds: float = 30.0
    poll_interval_seconds: float = 0.1


@dataclass(frozen=True)
class SafetySettings:
    """Request safety (``security.py``): who may send state-changing requests from a browser,
    and how large bodies may be."""

    allowed_origins: frozenset[str] = frozenset()
    max_body_bytes: int = 4 * 1024 * 1024
    max_upload_bytes: int = 1024 * 1024 * 1024
    # When set, every /api, /unit_api and /exports request must carry it (health stays open).
    api_key: str | None = field(default=None, repr=False)

    def auth_headers(self) -> dict[str, str]:
        """What a client of this cluster sends with every request."""
        return {} if self.api_key is None else {"Authorization": f"Bearer {self.api_key}"}


def safety_from_config(config: configparser.ConfigParser) -> SafetySettings:
    origins = _get(config, "pioleader", "allowed_origins", "")
    return SafetySettings(
        allowed_origins=frozenset(o.strip().rstrip("/") for o in origins.split(",") if o.strip()),
        max_body_bytes=int(_get(config, "pioleader", "max_body_bytes", str(4 * 1024 * 1024))),
        max_upload_bytes=int(
            _get(config, "pioleader", "max_upload_bytes", str(1024 * 1024 * 1024))
        ),
        api_key=_get(config, "pioleader", "api_key", "").strip() or None,
    )


@dataclass(frozen=True)
class LeaderSettings:
    data_dir: Path
    leader_hostname: str = "leader"
    leader_address: str = "127.0.0.1"
    bind_host: str = "127.0.0.1"
    port: int = 4999
    database_path: Path = Path("storage/pioreactor.sqlite")
    task_database_path: Path = Path("storage/task_results.sqlite")
    task_result_ttl_seconds: float = 7 * 24 * 3600
    export_retention_seconds: float = 24 * 3600
    export_min_free_bytes: int = 64 * 1024 * 1024
    time_series_cache_points: int = 400_000
    # How often workers that missed a shared config change are sent it again; 0: never.
    config_sync_interval_seconds: float = 10.0
    # A web UI build to serve (``ui.py``); None: the API alone.
    ui_dir: Path | None = None
    safety: SafetySettings = field(default_factory=SafetySettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    unit_timeouts: UnitTimeouts = field(default_factory=UnitTimeouts)

    @property
    def config_files(self) -> ConfigFiles:
        return ConfigFiles(self.data_dir)

    @property
    def exports_dir(self) -> Path:
        """Finished exports, served at /exports/<filename>."""
        return self.data_dir / "exports"

    @property
    def usb_dir(self) -> Path:
        """The directory that stands for the leader's USB drive (present = mounted)."""
        return self.data_dir / "usb"


@dataclass(frozen=True)
class CommandLineOverrides:
    """Values given on the command line; None means "as the configuration says"."""

    port: int | None = None
    bind_host: str | None = None
    leader_hostname: str | None = None
    database_path: Path | None = None
    mqtt_host: str | None = None
    mqtt_port: int | None = None
    ui_dir: Path | None = None


def _resolve(data_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else data_dir / path


def _get(config: configparser.ConfigParser, section: str, key: str, fallback: str) -> str:
    value = config.get(section, key, fallback=fallback).strip()
    return value or fallback


def mqtt_from_config(config: configparser.ConfigParser) -> MqttSettings:
    """The broker's address and credentials from ``[mqtt]`` (host defaults to the leader)."""
    leader_address = _get(config, "cluster.topology", "leader_address", "127.0.0.1")
    return MqttSettings(
        host=_get(config, "mqtt", "broker_address", leader_address),
        port=int(_get(config, "mqtt", "broker_port", "1883")),
        ws_port=int(_get(config, "mqtt", "broker_ws_port", "9001")),
        username=config.get("mqtt", "username", fallback="") or None,
        password=config.get("mqtt", "password", fallback="") or None,
    )


def task_ttl_seconds(config: configparser.ConfigParser) -> float:
    return 3600 * float(_get(config, "pioleader", "task_result_ttl_hours", "168"))


def load_leader_settings(
    data_dir: Path, overrides: CommandLineOverrides | None = None
) -> LeaderSettings:
    """Create default configuration files if missing, then read the settings from them."""
    overrides = overrides or CommandLineOverrides()
    files = ConfigFiles(data_dir)
    files.ensure_defaults(
        TopologyDefaults(
            leader_hostname=overrides.leader_hostname or "leader",
            http_port=overrides.port or 4999,
            mqtt_port=overrides.mqtt_port or 1883,
        )
    )
    config = files.merged()
    leader_address = _get(config, "cluster.topology", "leader_address", "127.0.0.1")
    ui_dir = config.get("pioleader", "ui_dir", fallback="").strip()
    settings = LeaderSettings(
        data_dir=data_dir,
        leader_hostname=_get(config, "cluster.topology", "leader_hostname", "leader"),
        leader_address=leader_address,
        port=int(_get(config, "ui", "port", "4999")),
        database_path=_resolve(
            data_dir, _get(config, "storage", "database", "storage/pioreactor.sqlite")
        ),
        task_database_path=_resolve(
            data_dir, _get(config, "pioleader", "task_results", "storage/task_results.sqlite")
        ),
        task_result_ttl_seconds=task_ttl_seconds(config),
        export_retention_seconds=3600
        * float(_get(config, "pioleader", "export_retention_hours", "24")),
        time_series_cache_points=int(
            _get(config, "pioleader", "time_series_cache_points", "400000")
        ),
        config_sync_interval_seconds=float(
            _get(config, "pioleader", "config_sync_interval_seconds", "10")
        ),
        ui_dir=_resolve(data_dir, ui_dir) if ui_dir else None,
        mqtt=mqtt_from_config(config),
        safety=safety_from_config(config),
        unit_timeouts=UnitTimeouts(
            read_seconds=float(_get(config, "pioleader", "unit_read_timeout_seconds", "5")),
            write_seconds=float(_get(config, "pioleader", "unit_write_timeout_seconds", "2")),
            task_seconds=float(_get(config, "pioleader", "unit_task_timeout_seconds", "30")),
        ),
    )
    return replace(
        settings,
        port=overrides.port or settings.port,
        bind_host=overrides.bind_host or settings.bind_host,
        leader_hostname=overrides.leader_hostname or settings.leader_hostname,
        database_path=overrides.database_path or settings.database_path,
        ui_dir=overrides.ui_dir or settings.ui_dir,
        mqtt=replace(
            settings.mqtt,
            host=overrides.mqtt_host or settings.mqtt.host,
            port=overrides.mqtt_port or settings.mqtt.port,
        ),
    )
