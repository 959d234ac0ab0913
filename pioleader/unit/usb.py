"""A unit's USB drive, simulated by a directory.

The drive is a directory (``[pioleader] usb_drive_dir``, default ``<data dir>/usb_drive``):
present when it exists. Mounting makes it appear at the unit's mountpoint ``<data dir>/usb``
(a symbolic link to the drive), where exports to USB and plugin files are read and written;
ejecting removes the link and leaves the drive's files alone. A real directory at the
mountpoint (a drive mounted by the system) counts as mounted but is not ejected by us.

Everything here blocks on the file system: call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

DEVICE = "usb0"
Status = Literal["absent", "present_unmounted", "mounted", "mounted_readonly", "error"]
_UPDATE = re.compile(r"^(?:pioreactor|pioleader|release)[-_]?v?(\d+(?:\.\d+)+[^/]*?)\.zip$")
_WHEEL = re.compile(r"^([A-Za-z0-9_.]+)-(\d[^-]*)-.+\.whl$")


class UsbProblem(Exception):
    """The drive is not in a state that allows the action; ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str, remediation: str) -> None:
        super().__init__(message)
        self.status = status
        self.remediation = remediation


@dataclass(frozen=True)
class UsbDrive:
    drive: Path
    mountpoint: Path

    @classmethod
    def of(cls, data_dir: Path, config: configparser.ConfigParser) -> UsbDrive:
        configured = config.get("pioleader", "usb_drive_dir", fallback="").strip()
        drive = Path(configured).expanduser() if configured else data_dir / "usb_drive"
        if not drive.is_absolute():
            drive = data_dir / drive
        return cls(drive=drive, mountpoint=data_dir / "usb")

    @property
    def display_name(self) -> str:
        return f"Simulated USB drive ({self.drive})"

    def _is_mounted(self) -> bool:
        return self.mountpoint.is_dir()

    def status(self) -> dict[str, Any]:
        present = self.drive.is_dir()
        partitions = (
            [{"device": DEVICE, "display_name": self.display_name, "path": str(self.drive)}]
            if present
            else []
        )
        mounted = self._is_mounted()
        state: Status
        error = None
        if self.mountpoint.is_symlink() and not mounted:
            state, error = "error", f"{self.mountpoint} points at a drive that is gone."
        elif mounted:
            state = "mounted" if os.access(self.mountpoint, os.W_OK) else "mounted_readonly"
        else:
            state = "present_unmounted" if present else "absent"
        body: dict[str, Any] = {
            "status": state,
            "partitions": partitions,
            "active_mount": str(self.mountpoint) if mounted else None,
        }
        if error:
            body["error"] = error
        return body

    def _check_device(self, device: str | None) -> None:
        if device not in (None, DEVICE):
            raise UsbProblem(
                404, f"device {device!r} is not a drive of this unit.", f"Use {DEVICE!r}."
            )

    def mount(self, device: str | None) -> dict[str, Any]:
        self._check_device(device)
        if self._is_mounted():
            return self._result("already_mounted", "The drive is already mounted.")
        if not self.drive.is_dir():
            raise UsbProblem(
                409,
                f"No USB drive is present ({self.drive} does not exist).",
                "Insert a drive: create that directory, or set [pioleader] usb_drive_dir.",
            )
        if self.mountpoint.is_symlink():
            self.mountpoint.unlink()  # a stale link to a drive that went away
        self.mountpoint.symlink_to(self.drive, target_is_directory=True)
        return self._result("mounted", f"Mounted at {self.mountpoint}.")

    def eject(self, device: str | None) -> dict[str, Any]:
        self._check_device(device)
        if not self.mountpoint.is_symlink():
            if self._is_mounted():
                raise UsbProblem(
                    409,
                    f"{self.mountpoint} is a drive mounted by the system, not by pioleader.",
                    "Unmount it with the system's tools.",
                )
            return self._result("not_mounted", "No drive was mounted.")
        self.mountpoint.unlink()
        return self._result("ejected", "The drive can be removed.")

    def _result(self, result: str, msg: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "result": result,
            "device": DEVICE,
            "display_name": self.display_name,
            "msg": msg,
        }
        if self._is_mounted():
            body["mountpoint"] = str(self.mountpoint)
        return body

    def artifacts(self) -> dict[str, Any]:
        """Update archives and plugin files at the top of the drive or in updates/, plugins/."""
        if not self._is_mounted():
            raise UsbProblem(409, "No USB drive is mounted.", "Mount it first (POST …/usb/mount).")
        updates: list[dict[str, str]] = []
        plugins: list[dict[str, str]] = []
        for folder in (self.mountpoint, self.mountpoint / "updates", self.mountpoint / "plugins"):
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if not path.is_file() or path.is_symlink():
                    continue
                relative = str(path.relative_to(self.mountpoint))
                update = _UPDATE.match(path.name)
                wheel = _WHEEL.match(path.name)
                if update:
                    updates.append({"path": relative, "version": update.group(1)})
                elif wheel:
                    plugins.append(
                        {
                            "path": relative,
                            "name": wheel.group(1).replace("_", "-"),
                            "version": wheel.group(2),
                            "kind": "wheel",
                        }
                    )
                elif path.suffix == ".py":
                    plugins.append(
                        {"path": relative, "name": path.stem, "version": "", "kind": "python_file"}
                    )
        return {
            "mountpoint": str(self.mountpoint),
            "updates": updates,
            "plugins": plugins,
            "writable": os.access(self.mountpoint, os.W_OK),
            "free_bytes": shutil.disk_usage(self.mountpoint).free,
        }

    def file(self, relative: str) -> Path:
        """A regular file on the mounted drive; refuses paths that leave it."""
        if not self._is_mounted():
            raise UsbProblem(409, "No USB drive is mounted.", "Mount it first (POST …/usb/mount).")
        root = self.mountpoint.resolve()
        candidate = Path(relative)
        path = (candidate if candidate.is_absolute() else self.mountpoint / candidate).resolve()
        if not path.is_relative_to(root):
            raise UsbProblem(
                400, f"filepath {relative!r} is outside the USB drive.", "Give a path on it."
            )
        if not path.is_file():
            raise UsbProblem(
                404, f"filepath {relative!r} is not a file on the USB drive.", "Check the path."
            )
        return path
