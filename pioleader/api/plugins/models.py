"""Bodies of the plugin endpoints: the unit API's own, so the leader checks what units check."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pioleader.unit.models import InstalledPlugin, PluginCommand

__all__ = ["InstalledPlugin", "PluginCommand", "UsbPluginFile"]


class UsbPluginFile(BaseModel):
    """A plugin file on the leader's USB drive."""

    model_config = ConfigDict(extra="forbid", strict=True)

    filepath: str = Field(
        min_length=1,
        max_length=1024,
        description="Path of a .whl or .py file on the leader's mounted USB drive, relative "
        "to its mountpoint (an absolute path inside the mountpoint is accepted too).",
    )
