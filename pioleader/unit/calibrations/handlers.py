"""What the calibration and estimator endpoints of a unit share: checking names from the path
and turning the store's exceptions into answers with cause and remediation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Path, Response

from pioleader.errors import ApiError, error_responses
from pioleader.unit.calibrations.models import DEVICE_TYPES, NAME_PATTERN, Document, name_problem
from pioleader.unit.calibrations.store import (
    CALIBRATIONS,
    DocumentNotFound,
    DocumentStore,
    InvalidDocument,
    UnreadableDocument,
    parse_document,
)

DevicePath = Annotated[
    str, Path(description="Device, e.g. media_pump, stirring, od90.", max_length=100)
]
NamePath = Annotated[str, Path(description="Name of the calibration or estimator.", max_length=100)]


def zip_responses(entries: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` of an endpoint answering calibration_yamls.zip."""
    return {
        200: {
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "description": f"calibration_yamls.zip: {entries} entries.",
        },
        **error_responses(),
    }


def zip_response(content: bytes) -> Response:
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="calibration_yamls.zip"'},
    )


def check_name(value: str, field: str) -> str:
    """400 unless ``value`` can be one path component (no separators, no '..')."""
    problem = name_problem(value)
    if problem:
        raise ApiError(
            400,
            f"Invalid {field}.",
            cause=f"{field} {value!r} {problem}.",
            remediation=f"Use a name matching {NAME_PATTERN} without '..'.",
        )
    return value


def missing(store: DocumentStore, device: str, name: str | None = None) -> ApiError:
    what = store.kind.folder[:-1]
    if name is None:
        return ApiError(
            404,
            f"No {store.kind.folder} for {device}.",
            cause=f"This unit has no {what} stored for device {device!r}.",
            remediation=f"GET /unit_api/{store.kind.folder} lists the devices that have some.",
        )
    return ApiError(
        404,
        f"{what.capitalize()} not found.",
        cause=f"{device}/{name} is not stored on this unit.",
        remediation=f"GET /unit_api/{store.kind.folder}/{device} lists its {store.kind.folder}.",
    )


async def list_device(
    store: DocumentStore, device: str, *, missing_is_empty: bool
) -> list[Document]:
    documents = await store.list_device(check_name(device, "device"))
    if documents is None:
        if missing_is_empty:
            return []
        raise missing(store, device)
    return documents


@contextlib.contextmanager
def _stored(store: DocumentStore, device: str, name: str) -> Iterator[None]:
    """Check both names; a missing or unreadable file becomes its answer."""
    check_name(device, "device")
    check_name(name, store.kind.name_field)
    try:
        yield
    except DocumentNotFound as exc:
        raise missing(store, device, name) from exc
    except UnreadableDocument as exc:
        raise ApiError(
            409,
            f"Stored {store.kind.folder[:-1]} is unreadable.",
            cause=str(exc),
            remediation="Delete it and create it again.",
        ) from exc


async def get_one(store: DocumentStore, device: str, name: str) -> Document:
    with _stored(store, device, name):
        return await store.get(device, name)


async def delete_one(store: DocumentStore, device: str, name: str) -> None:
    with _stored(store, device, name):
        await store.delete(device, name)


async def set_active(store: DocumentStore, device: str, name: str) -> None:
    with _stored(store, device, name):
        await store.set_active(device, name)


async def clear_active(store: DocumentStore, device: str) -> None:
    await store.clear_active(check_name(device, "device"))


def check_calibration(device: str, text: str) -> tuple[str, str]:
    """The calibration's (name, type) when ``text`` is valid YAML for ``device``; else 400."""
    check_name(device, "device")
    if device not in DEVICE_TYPES:
        raise ApiError(
            400,
            "Unknown device.",
            cause=f"device {device!r} is not a calibratable device.",
            remediation=f"Use one of: {', '.join(DEVICE_TYPES)}.",
        )
    try:
        document = parse_document(CALIBRATIONS, text)
    except InvalidDocument as exc:
        raise ApiError(
            400,
            "YAML data is not correct, or missing fields.",
            cause=f"calibration_data: {exc}",
            remediation="Send a calibration with calibration_type od600, "
            "simple_peristaltic_pump or simple_stirring and all of its fields.",
        ) from exc
    fields = document.model_dump()
    calibration_type = str(fields["calibration_type"])
    if calibration_type not in DEVICE_TYPES[device]:
        raise ApiError(
            400,
            "Calibration type does not fit the device.",
            cause=f"calibration_type {calibration_type!r} cannot calibrate {device!r}.",
            remediation=f"{device} takes: {', '.join(DEVICE_TYPES[device])}.",
        )
    return str(fields["calibration_name"]), calibration_type
