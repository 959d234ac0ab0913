"""The profile files of the leader's data directory (``<data dir>/experiment_profiles``).

Names are checked before any path is built: a portable file name (letters, digits, ``.``,
``_``, ``-``, single spaces between words; no leading ``.`` or ``-``) ending in ``.yaml`` or
``.yml``, so that no request can reach outside the directory.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*(?: [A-Za-z0-9._-]+)*$")
SUFFIXES = (".yaml", ".yml")


class ProfileNotFound(Exception):
    pass


class ProfileExists(Exception):
    pass


def check_profile_filename(name: str) -> str:
    """The name if it is a safe profile file name; ValueError saying why otherwise."""
    if "/" in name or "\\" in name or ".." in name:
        raise ValueError("must be a file name, without '/', '\\' or '..'")
    if not name.lower().endswith(SUFFIXES):
        raise ValueError("must end with .yaml or .yml")
    if len(name) > 200:
        raise ValueError("must be at most 200 characters")
    if not _NAME.match(name):
        raise ValueError(
            "may contain only letters, digits, '.', '_', '-' and single spaces, and must not "
            "start with '.' or '-'"
        )
    return name


@dataclass(frozen=True)
class ProfileFile:
    filename: str
    path: Path
    text: str
    mtime: float


class ProfileFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_of(self, filename: str) -> Path:
        return self.directory / check_profile_filename(filename)

    async def ensure_examples(self) -> None:
        """On the first start (no directory yet), add the example profiles."""
        await asyncio.to_thread(self._ensure_examples)

    def _ensure_examples(self) -> None:
        if self.directory.exists():
            return
        self.directory.mkdir(parents=True)
        for entry in resources.files("pioleader.profiles").joinpath("examples").iterdir():
            if entry.name.endswith(SUFFIXES):
                (self.directory / entry.name).write_text(entry.read_text("utf-8"), "utf-8")

    async def all(self) -> list[ProfileFile]:
        """Every profile file, newest first."""
        return await asyncio.to_thread(self._list)

    def _list(self) -> list[ProfileFile]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            if path.is_file() and path.name.lower().endswith(SUFFIXES):
                found.append(
                    ProfileFile(
                        path.name, path, path.read_text("utf-8", "replace"), path.stat().st_mtime
                    )
                )
        return sorted(found, key=lambda file: (-file.mtime, file.filename))

    async def read(self, filename: str) -> str:
        path = self.path_of(filename)
        try:
            return await asyncio.to_thread(path.read_text, "utf-8")
        except (FileNotFoundError, IsADirectoryError) as error:
            raise ProfileNotFound(filename) from error

    async def create(self, filename: str, text: str) -> None:
        """Write a new file; ProfileExists if the name is taken."""
        path = self.path_of(filename)

        def write() -> None:
            self.directory.mkdir(parents=True, exist_ok=True)
            try:
                with path.open("x", encoding="utf-8") as handle:
                    handle.write(text)
            except FileExistsError as error:
                raise ProfileExists(filename) from error

        await asyncio.to_thread(write)

    async def write(self, filename: str, text: str) -> None:
        """Create or replace a file at once (readers see the old text or the new)."""
        path = self.path_of(filename)

        def write() -> None:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.new")
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)

        await asyncio.to_thread(write)

    async def delete(self, filename: str) -> None:
        path = self.path_of(filename)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError as error:
            raise ProfileNotFound(filename) from error
