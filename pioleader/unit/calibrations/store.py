"""A unit's calibrations and estimators: YAML files plus an "active" pointer per device.

Files live where upstream keeps them, ``storage/calibrations/<device>/<name>.yaml`` and
``storage/estimators/<device>/<name>.yaml`` under the unit's data directory, written verbatim
(atomically: a temporary file renamed into place). The active pointers are rows of the unit's
database. File work runs in threads, SQL through the database's helpers.
"""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from pioleader.db import Database
from pioleader.errors import describe_validation_errors
from pioleader.unit.calibrations.models import (
    Calibration,
    Document,
    Estimator,
    name_problem,
)


class InvalidDocument(ValueError):
    """YAML text that is not a valid calibration (or estimator); the message says why."""


class DocumentNotFound(LookupError):
    pass


class UnreadableDocument(ValueError):
    """A stored file that no longer parses (edited by hand, or from a newer version)."""


@dataclass(frozen=True)
class Kind:
    """What differs between calibrations and estimators."""

    folder: str
    name_field: str
    type_field: str
    table: str
    adapter: TypeAdapter[Any]
    listing_adds_device: bool


CALIBRATIONS = Kind(
    "calibrations",
    "calibration_name",
    "calibration_type",
    "active_calibrations",
    TypeAdapter(Calibration),
    listing_adds_device=False,
)
ESTIMATORS = Kind(
    "estimators",
    "estimator_name",
    "estimator_type",
    "active_estimators",
    TypeAdapter(Estimator),
    listing_adds_device=True,
)


def parse_document(kind: Kind, text: str) -> BaseModel:
    """Validate YAML text as a document of ``kind``; ``InvalidDocument`` says what is wrong."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidDocument(f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidDocument("the YAML must be a mapping of field names to values")
    try:
        document: BaseModel = kind.adapter.validate_python(raw)
    except ValidationError as exc:
        cause, _ = describe_validation_errors(exc.errors())
        raise InvalidDocument(cause) from exc
    name = str(getattr(document, kind.name_field))
    problem = name_problem(name)
    if problem:
        raise InvalidDocument(f"{kind.name_field} {name!r} {problem}")
    return document


class DocumentStore:
    def __init__(self, data_dir: Path, db: Database, kind: Kind, unit: str) -> None:
        self.root = data_dir / "storage" / kind.folder
        self._db = db
        self.kind = kind
        self._unit = unit

    # -- files ---------------------------------------------------------------------------------

    def path(self, device: str, name: str) -> Path:
        for part in (device, name):
            if name_problem(part):
                raise DocumentNotFound(part)
        return self.root / device / f"{name}.yaml"

    async def save(self, device: str, name: str, text: str) -> Path:
        path = self.path(device, name)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.tmp")
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)

        await asyncio.to_thread(write)
        return path

    async def load(self, device: str, name: str) -> BaseModel:
        path = self.path(device, name)
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except FileNotFoundError as exc:
            raise DocumentNotFound(f"{device}/{name}") from exc
        try:
            return parse_document(self.kind, text)
        except InvalidDocument as exc:
            raise UnreadableDocument(f"{path.name}: {exc}") from exc

    async def names(self, device: str) -> list[str] | None:
        """Names stored for ``device``, sorted; None when the device has no folder."""
        folder = self.root / device

        def scan() -> list[str] | None:
            if not folder.is_dir():
                return None
            return sorted(p.stem for p in folder.glob("*.yaml") if not name_problem(p.stem))

        if name_problem(device):
            return None
        return await asyncio.to_thread(scan)

    async def devices(self) -> list[str]:
        def scan() -> list[str]:
            if not self.root.is_dir():
                return []
            return sorted(p.name for p in self.root.iterdir() if p.is_dir())

        return [d for d in await asyncio.to_thread(scan) if not name_problem(d)]

    async def delete(self, device: str, name: str) -> None:
        path = self.path(device, name)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError as exc:
            raise DocumentNotFound(f"{device}/{name}") from exc
        active = await self.active_names()
        if active.get(device) == name:
            await self.clear_active(device)

    # -- listings, as the API shows them -------------------------------------------------------

    def listed(self, device: str, document: BaseModel, active: str | None) -> Document:
        shown: Document = document.model_dump(mode="json")
        shown["is_active"] = active == shown[self.kind.name_field]
        shown["pioreactor_unit"] = self._unit
        if self.kind.listing_adds_device:
            shown["device"] = device
        return shown

    async def list_device(self, device: str) -> list[Document] | None:
        names = await self.names(device)
        if names is None:
            return None
        active = (await self.active_names()).get(device)
        listed: list[Document] = []
        for name in names:
            try:
                document = await self.load(device, name)
            except (DocumentNotFound, UnreadableDocument):
                continue  # removed meanwhile, or unreadable: listings skip it
            listed.append(self.listed(device, document, active))
        return listed

    async def list_all(self) -> dict[str, list[Document]]:
        listing: dict[str, list[Document]] = {}
        for device in await self.devices():
            documents = await self.list_device(device)
            if documents:
                listing[device] = documents
        return listing

    async def get(self, device: str, name: str) -> Document:
        document = await self.load(device, name)
        return self.listed(device, document, (await self.active_names()).get(device))

    async def active_documents(self) -> dict[str, Document]:
        shown: dict[str, Document] = {}
        for device, name in (await self.active_names()).items():
            try:
                shown[device] = self.listed(device, await self.load(device, name), name)
            except (DocumentNotFound, UnreadableDocument):
                continue  # the pointer outlived its file
        return shown

    async def active(self, device: str) -> BaseModel | None:
        """The active document of ``device``, validated, or None."""
        name = (await self.active_names()).get(device)
        if name is None:
            return None
        try:
            return await self.load(device, name)
        except (DocumentNotFound, UnreadableDocument):
            return None

    async def zipped(self) -> bytes:
        """Every stored file as ``<unit>/<device>/<name>.yaml`` entries of a zip archive."""

        def build() -> bytes:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                if self.root.is_dir():
                    for path in sorted(self.root.glob("*/*.yaml")):
                        archive.write(path, f"{self._unit}/{path.parent.name}/{path.name}")
            return buffer.getvalue()

        return await asyncio.to_thread(build)

    # -- active pointers -----------------------------------------------------------------------

    async def active_names(self) -> dict[str, str]:
        table, column = self.kind.table, self.kind.name_field

        def select(connection: sqlite3.Connection) -> dict[str, str]:
            rows = connection.execute(f"SELECT device, {column} AS name FROM {table}")  # noqa: S608
            return {row["device"]: row["name"] for row in rows.fetchall()}

        return await self._db.read(select)

    async def set_active(self, device: str, name: str) -> None:
        """Point ``device`` at ``name``; ``DocumentNotFound`` unless that file exists."""
        path = self.path(device, name)
        if not await asyncio.to_thread(path.is_file):
            raise DocumentNotFound(f"{device}/{name}")
        table, column = self.kind.table, self.kind.name_field

        def upsert(connection: sqlite3.Connection) -> None:
            connection.execute(
                f"INSERT INTO {table} (device, {column}) VALUES (?, ?)"  # noqa: S608
                f" ON CONFLICT (device) DO UPDATE SET {column} = excluded.{column}",
                (device, name),
            )

        await self._db.write(upsert)

    async def clear_active(self, device: str) -> None:
        table = self.kind.table

        def delete(connection: sqlite3.Connection) -> None:
            connection.execute(f"DELETE FROM {table} WHERE device = ?", (device,))  # noqa: S608

        await self._db.write(delete)
