"""Reading descriptor files: the ones we ship (``pioleader/ui``) and any a user adds under
``<data dir>/ui`` (the same layout; a file with the same name replaces ours)."""

from __future__ import annotations

import asyncio
import logging
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pioleader.api.descriptors.models import (
    AutomationDescriptor,
    ChartDescriptor,
    JobDescriptor,
    SettingsDescriptor,
)

logger = logging.getLogger("pioleader.descriptors")

AUTOMATION_TYPES = ("dosing", "led", "temperature")
D = TypeVar("D", bound=BaseModel)


def shipped_directory() -> Path:
    return Path(str(resources.files("pioleader") / "ui"))


class DescriptorCatalog:
    def __init__(self, *directories: Path) -> None:
        self._directories = directories

    async def jobs(self) -> list[JobDescriptor]:
        return await self._load("jobs", JobDescriptor)

    async def automations(self, automation_type: str) -> list[AutomationDescriptor]:
        return await self._load(f"automations/{automation_type}", AutomationDescriptor)

    async def settings(self) -> list[SettingsDescriptor]:
        return await self._load("settings", SettingsDescriptor)

    async def charts(self) -> list[ChartDescriptor]:
        return await self._load("charts", ChartDescriptor)

    async def _load(self, folder: str, model: type[D]) -> list[D]:
        return await asyncio.to_thread(self._read, folder, model)

    def _read(self, folder: str, model: type[D]) -> list[D]:
        files: dict[str, Path] = {}
        for directory in self._directories:
            base = directory / folder
            if base.is_dir():
                files.update({path.name: path for path in base.glob("*.y*ml")})
        found: list[D] = []
        for name in sorted(files):
            try:
                content: Any = yaml.safe_load(files[name].read_text(encoding="utf-8"))
                found.append(model.model_validate(content))
            except (OSError, yaml.YAMLError, ValidationError) as error:
                # One broken file (a user's, say) must not hide the others.
                logger.warning("skipping descriptor %s: %s", files[name], error)
        return found
