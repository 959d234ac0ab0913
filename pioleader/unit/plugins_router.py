"""The unit API's plugin endpoints: GET /unit_api/plugins/installed, POST|PATCH
/unit_api/plugins/install and /unit_api/plugins/uninstall.

Installs and uninstalls run in a task under ``plugins-lock``. Where upstream reports a failed
install as a *successful* task whose value is ``false``, a failed pip run here is a failed task
whose cause is pip's own last lines; success is ``true``.
"""

from __future__ import annotations

import asyncio
import base64
import configparser
import shutil
from pathlib import Path

from fastapi import APIRouter

from pioleader.errors import ApiError, error_responses
from pioleader.tasks import TaskAccepted
from pioleader.unit.deps import UnitDep
from pioleader.unit.models import InstalledPlugin, PluginCommand, PluginFile
from pioleader.unit.plugins import (
    PluginFailed,
    PluginPolicy,
    PluginRefused,
    check_name,
    wheel_name,
)
from pioleader.unit.services import UnitServices

router = APIRouter(prefix="/unit_api/plugins", tags=["unit api"])

INSTALL_OPTIONS = frozenset({"source"})


async def policy_of(unit: UnitServices) -> PluginPolicy:
    config: configparser.ConfigParser = await asyncio.to_thread(unit.config_files.merged)
    return await asyncio.to_thread(PluginPolicy.from_config, config, unit.data_dir)


@router.get("/installed", response_model=list[InstalledPlugin], responses=error_responses())
async def get_installed_plugins(unit: UnitDep) -> list[InstalledPlugin]:
    """Every plugin of this unit: pip-installed ones, then single files of the plugins folder."""
    await unit.reload_plugins()
    return [InstalledPlugin(**p.as_json()) for p in unit.plugins.loaded.plugins]


async def _checked(unit: UnitServices, body: PluginCommand) -> tuple[str, PluginPolicy]:
    try:
        name = check_name(body.args[0])
        policy = await policy_of(unit)
        policy.require_installs(unit.name)
    except PluginRefused as error:
        raise error.as_api_error() from error
    unknown = sorted(set(body.options) - INSTALL_OPTIONS)
    if unknown:
        raise ApiError(
            400,
            "Unknown plugin option.",
            cause=f"options.{unknown[0]} is not an option of plugin installs.",
            remediation="The only option is options.source.",
        )
    return name, policy


@router.post(
    "/install", status_code=202, response_model=TaskAccepted, responses=error_responses(403)
)
@router.patch(
    "/install", status_code=202, response_model=TaskAccepted, responses=error_responses(403)
)
async def install_plugin(body: PluginCommand, unit: UnitDep) -> TaskAccepted:
    """Install one plugin with pip into this unit's plugin environment (a task).

    403 if installs are disabled here or the source is not allowed.
    """
    name, policy = await _checked(unit, body)
    source: str | None = body.options.get("source")
    local = None
    if source is not None:
        allowed = (unit.plugins.folder, unit.data_dir / "usb", unit.data_dir / "uploads")
        try:
            local = await asyncio.to_thread(policy.require_safe_source, source, allowed)
        except PluginRefused as error:
            raise error.as_api_error() from error

    async def install() -> bool:
        try:
            await unit.plugins.install(name, local or source)
        except PluginFailed as error:
            raise ApiError(
                500,
                f"Installing {name} failed.",
                cause=str(error),
                remediation="Check the plugin name or file; the unit's log has pip's output.",
            ) from error
        finally:
            unit.jobs.catalog = unit.plugins.catalog()
        return True

    return await unit.tasks.submit(f"install plugin {name}", install, lock="plugins-lock")


@router.post(
    "/uninstall",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(403, 404),
)
@router.patch(
    "/uninstall",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(403, 404),
)
async def uninstall_plugin(body: PluginCommand, unit: UnitDep) -> TaskAccepted:
    """Remove one plugin (a task). 404 if it is not installed here."""
    name, _ = await _checked(unit, body)
    await unit.reload_plugins()
    if unit.plugins.find(name) is None:
        raise ApiError(
            404,
            "Plugin not installed.",
            cause=f"{name} is not a plugin of {unit.name}.",
            remediation="GET /unit_api/plugins/installed lists this unit's plugins.",
        )

    async def uninstall() -> bool:
        try:
            await unit.plugins.uninstall(name)
        except PluginFailed as error:
            raise ApiError(500, f"Uninstalling {name} failed.", cause=str(error)) from error
        finally:
            unit.jobs.catalog = unit.plugins.catalog()
        return True

    return await unit.tasks.submit(f"uninstall plugin {name}", uninstall, lock="plugins-lock")


def _save(folder: Path, filename: str, content: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    partial = folder / f".{filename}.partial"
    partial.write_bytes(content)
    partial.replace(path)
    return path


@router.post(
    "/install-file", status_code=202, response_model=TaskAccepted, responses=error_responses(403)
)
async def install_plugin_file(body: PluginFile, unit: UnitDep) -> TaskAccepted:
    """Install a plugin file the leader sends (a task): a wheel through pip, or a single .py
    file into the plugins folder. 403 if installs are disabled here."""
    try:
        (await policy_of(unit)).require_installs(unit.name)
    except PluginRefused as error:
        raise error.as_api_error() from error
    try:
        content = base64.b64decode(body.content_base64, validate=True)
    except ValueError as error:  # binascii.Error, or characters that are not ASCII
        raise ApiError(
            400,
            "Invalid plugin file.",
            cause=f"content_base64 is not base64: {error}.",
            remediation="Send the file's bytes base64-encoded.",
        ) from error
    staged = await asyncio.to_thread(_save, unit.data_dir / "uploads", body.filename, content)
    name = staged.stem if staged.suffix == ".py" else wheel_name(staged.name)

    async def install() -> bool:
        try:
            if staged.suffix == ".py":
                await asyncio.to_thread(shutil.move, staged, unit.plugins.folder / staged.name)
                await unit.reload_plugins()
            else:
                await unit.plugins.install(name, staged)
        except PluginFailed as error:
            raise ApiError(500, f"Installing {body.filename} failed.", cause=str(error)) from error
        finally:
            unit.jobs.catalog = unit.plugins.catalog()
        return True

    return await unit.tasks.submit(f"install plugin file {name}", install, lock="plugins-lock")
