"""Endpoints for plugins: GET /api/units/{pioreactor_unit}/plugins/installed, POST|PATCH
/api/units/{pioreactor_unit}/plugins/install, .../plugins/uninstall and
.../plugins/install-from-leader-usb.

Each is a fan-out task to the unit, or to every unit for `$broadcast`. The leader refuses
installs when its own data directory says so (``DISALLOW_UI_INSTALLS`` or ``[pioleader]
allow_plugin_installs=false``) and remote sources unless its configuration allows them; each
unit then applies its own policy as well.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path

from pioleader.api.dispatch import fanout_task
from pioleader.api.plugins.models import PluginCommand, UsbPluginFile
from pioleader.cluster import UnitRequest
from pioleader.deps import ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.services import Services
from pioleader.tasks import TaskAccepted
from pioleader.unit.plugins import PluginPolicy, PluginRefused, check_name, is_remote
from pioleader.unit.usb import UsbDrive, UsbProblem

router = APIRouter(tags=["plugins"])

UnitPath = Annotated[str, Path(description="Unit name, or `$broadcast` for every unit.")]
# pip may download and build: a unit's task may take minutes.
INSTALL_TASK_SECONDS = 600.0
# Files travel to units base64-encoded in JSON, under the units' JSON body limit (4 MiB).
MAX_USB_PLUGIN_BYTES = 3 * 1024 * 1024


async def leader_policy(services: Services) -> PluginPolicy:
    config = await asyncio.to_thread(services.settings.config_files.merged)
    return await asyncio.to_thread(PluginPolicy.from_config, config, services.settings.data_dir)


async def check_command(services: Services, body: PluginCommand) -> None:
    """The leader's own checks before anything is sent to a unit (the same for installs and
    uninstalls, as upstream)."""
    try:
        check_name(body.args[0])
        policy = await leader_policy(services)
        policy.require_installs(services.settings.leader_hostname)
        source = body.options.get("source")
        if source is not None and is_remote(source):
            policy.require_safe_source(source, ())
    except PluginRefused as error:
        raise ApiError(
            error.status, "Plugin request refused.", cause=str(error), remediation=error.remediation
        ) from error


async def _to_units(
    services: Services, pioreactor_unit: str, name: str, request: UnitRequest
) -> TaskAccepted:
    units = await services.targets.expand_to_units(pioreactor_unit)
    return await fanout_task(services, name, units, request)


@router.get(
    "/api/units/{pioreactor_unit}/plugins/installed",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def get_plugins_on_machine(pioreactor_unit: UnitPath, services: ServicesDep) -> TaskAccepted:
    """The plugins of a unit, or of every unit for `$broadcast` (a task).

    Each envelope's value is a list of `{name, version, description, homepage, author,
    source}`.
    """
    return await _to_units(
        services,
        pioreactor_unit,
        "installed plugins",
        UnitRequest("GET", "/unit_api/plugins/installed", timeout=15.0),
    )


def _command_request(path: str, body: PluginCommand) -> UnitRequest:
    return UnitRequest(
        "POST", path, json=body.model_dump(), task_timeout=INSTALL_TASK_SECONDS, timeout=15.0
    )


@router.post(
    "/api/units/{pioreactor_unit}/plugins/install",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(403),
)
@router.patch(
    "/api/units/{pioreactor_unit}/plugins/install",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(403),
)
async def install_plugin_across_cluster(
    pioreactor_unit: UnitPath, body: PluginCommand, services: ServicesDep
) -> TaskAccepted:
    """Install one plugin on a unit, or on every unit for `$broadcast` (a task).

    Body: `{"args": ["<name>"], "options": {"source": "<file on the unit>"}}`; without a
    source, pip installs the name from the package index. 403 if the leader disallows
    installs or the source is remote and not allowed. Each envelope's value is `true`, or the
    unit's error (pip's output as its cause).
    """
    await check_command(services, body)
    return await _to_units(
        services,
        pioreactor_unit,
        f"install plugin {body.args[0]}",
        _command_request("/unit_api/plugins/install", body),
    )


@router.post(
    "/api/units/{pioreactor_unit}/plugins/uninstall",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(403),
)
@router.patch(
    "/api/units/{pioreactor_unit}/plugins/uninstall",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(403),
)
async def uninstall_plugin_across_cluster(
    pioreactor_unit: UnitPath, body: PluginCommand, services: ServicesDep
) -> TaskAccepted:
    """Remove one plugin from a unit, or from every unit for `$broadcast` (a task)."""
    await check_command(services, body)
    return await _to_units(
        services,
        pioreactor_unit,
        f"uninstall plugin {body.args[0]}",
        _command_request("/unit_api/plugins/uninstall", body),
    )


def _read_usb_plugin(services: Services, filepath: str) -> tuple[FilePath, bytes]:
    settings = services.settings
    drive = UsbDrive.of(settings.data_dir, settings.config_files.merged())
    try:
        path = drive.file(filepath)
    except UsbProblem as problem:
        raise ApiError(
            problem.status,
            "Plugin file not available.",
            cause=str(problem),
            remediation=problem.remediation,
        ) from problem
    if path.suffix not in (".whl", ".py"):
        raise ApiError(
            400,
            "Not a plugin file.",
            cause=f"filepath {filepath!r} is neither a .whl nor a .py file.",
            remediation="GET /api/units/{leader}/usb/artifacts lists the plugin files.",
        )
    size = path.stat().st_size
    if size > MAX_USB_PLUGIN_BYTES:
        raise ApiError(
            413,
            "Plugin file too large.",
            cause=f"filepath {filepath!r} has {size} bytes; at most {MAX_USB_PLUGIN_BYTES}.",
            remediation="Install it from the unit's command line instead.",
        )
    return path, path.read_bytes()


@router.post(
    "/api/units/{pioreactor_unit}/plugins/install-from-leader-usb",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(403, 404, 409, 413),
)
@router.patch(
    "/api/units/{pioreactor_unit}/plugins/install-from-leader-usb",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(403, 404, 409, 413),
)
async def install_plugin_from_leader_usb_on_machine(
    pioreactor_unit: UnitPath, body: UsbPluginFile, services: ServicesDep
) -> TaskAccepted:
    """Install a plugin file from the leader's mounted USB drive on a unit, or on every unit
    for `$broadcast` (a task; the result is `{unit: envelope}`).

    The file (a wheel or a single .py file, `filepath` relative to the drive) is read on the
    leader and sent to each unit, which installs it. 403 if the leader disallows installs,
    409 if no drive is mounted, 404 if the file is not on it.
    """
    try:
        (await leader_policy(services)).require_installs(services.settings.leader_hostname)
    except PluginRefused as error:
        raise ApiError(
            error.status, "Plugin request refused.", cause=str(error), remediation=error.remediation
        ) from error
    path, content = await asyncio.to_thread(_read_usb_plugin, services, body.filepath)
    request = UnitRequest(
        "POST",
        "/unit_api/plugins/install-file",
        json={"filename": path.name, "content_base64": base64.b64encode(content).decode()},
        timeout=30.0,
        task_timeout=INSTALL_TASK_SECONDS,
    )
    units = await services.targets.expand_to_units(pioreactor_unit)
    return await fanout_task(
        services, f"install {path.name} from usb", units, request, lock="usb-lock"
    )
