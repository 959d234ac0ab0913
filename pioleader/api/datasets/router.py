"""Endpoints for exportable datasets and their exports.

GET /api/datasets/exportable, GET /api/datasets/exportable/{target_dataset}/preview,
POST /api/datasets/exportable/export, POST /api/datasets/exportable/export-to-usb,
GET /exports/{filename}.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import sqlite3
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import FileResponse

from pioleader.api.datasets.models import ExportBody, ExportResult
from pioleader.api.dispatch import cache_for
from pioleader.datasets.catalog import DatasetDefinition
from pioleader.datasets.export import ExportFailed, ExportRequest
from pioleader.deps import ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.services import Services
from pioleader.tasks import TaskAccepted

router = APIRouter(tags=["datasets"])

EXPORT_NAME = re.compile(r"^export_[0-9]{14}_[0-9a-f]{8}\.zip$")


async def _definitions(services: Services, names: list[str]) -> list[DatasetDefinition]:
    known = {d.dataset_name: d for d in await services.datasets.all()}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ApiError(
            400,
            "Unknown dataset.",
            cause=f"datasets: {', '.join(map(repr, unknown))} not exportable.",
            remediation="GET /api/datasets/exportable lists the datasets.",
        )
    return [known[name] for name in dict.fromkeys(names)]


async def _check_experiments(services: Services, experiments: list[str]) -> None:
    for experiment in experiments:
        if not await services.experiments.exists(experiment):
            raise ApiError(
                404,
                "Experiment not found",
                cause=f"Experiment {experiment!r} does not exist.",
                remediation="GET /api/experiments lists the experiments; an empty 'experiments' "
                "list exports all of them.",
            )


async def _start_export(services: Services, body: ExportBody, *, to_usb: bool) -> TaskAccepted:
    definitions = await _definitions(services, body.datasets)
    experiments = body.experiment_list
    await _check_experiments(services, experiments)
    settings = services.settings
    if to_usb and not await asyncio.to_thread(settings.usb_dir.is_dir):
        raise ApiError(
            409,
            "No USB drive mounted.",
            cause=f"{settings.usb_dir} does not exist on the leader.",
            remediation="Mount a USB drive (POST /api/units/{leader}/usb/mount) and retry.",
        )
    request = ExportRequest(
        datasets=definitions,
        experiments=experiments,
        partition_by_experiment=body.partition_by_experiment,
        partition_by_unit=body.partition_by_unit,
        start=body.start_time,
        end=body.end_time,
    )
    exporter = services.exporter
    stamp = services.clock.now().strftime("%Y%m%d%H%M%S")
    filename = f"export_{stamp}_{secrets.token_hex(4)}.zip"

    async def export() -> ExportResult:
        report = services.tasks.progress_reporter()

        def run() -> ExportResult:
            exporter.remove_old(settings.export_retention_seconds)
            try:
                summary = exporter.export(request, filename, report)
            except ExportFailed as error:
                raise ApiError(
                    507 if error.disk else 400,
                    "Export failed.",
                    cause=str(error),
                    remediation="Free disk space and retry."
                    if error.disk
                    else "Fix the dataset's definition in exportable_datasets/.",
                ) from error
            except sqlite3.Error as error:
                raise ApiError(
                    400, "Export failed.", cause=f"A dataset query failed: {error}."
                ) from error
            result = ExportResult(filename=filename, rows=summary.rows)
            if to_usb:
                target = settings.usb_dir / "pioreactor" / "exports"
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(settings.exports_dir / filename, target / filename)
                result.path = str(target / filename)
            return result

        return await asyncio.to_thread(run)

    locks = "usb-lock" if to_usb else "export-data-lock"
    return await services.tasks.submit("export datasets", export, lock=locks)


@router.get(
    "/api/datasets/exportable",
    response_model=list[DatasetDefinition],
    responses=error_responses(),
)
async def get_exportable_datasets(
    services: ServicesDep, response: Response
) -> list[DatasetDefinition]:
    """The datasets that can be exported: built in, then the data directory's and plugins'."""
    cache_for(response, 60)
    return await services.datasets.all()


@router.get(
    "/api/datasets/exportable/{target_dataset}/preview",
    response_model=list[dict[str, Any]],
    responses=error_responses(404),
)
async def preview_exportable_dataset(
    target_dataset: Annotated[str, Path(max_length=64)],
    services: ServicesDep,
    n_rows: Annotated[int, Query(ge=1, le=100, description="Rows to show, 1 to 100.")] = 5,
) -> list[dict[str, Any]]:
    """The first rows of a dataset, as they would be exported (no filter)."""
    definition = await services.datasets.find(target_dataset)
    if definition is None:
        raise ApiError(
            404,
            "Dataset not found",
            cause=f"No exportable dataset is named {target_dataset!r}.",
            remediation="GET /api/datasets/exportable lists the datasets.",
        )

    def select(connection: sqlite3.Connection) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = connection.execute(
            f"SELECT * FROM {definition.source_sql} LIMIT ?",  # noqa: S608 - validated name
            (n_rows,),
        ).fetchall()
        return rows

    try:
        return await services.db.read(select)
    except sqlite3.Error as error:
        raise ApiError(
            400,
            "Dataset cannot be read.",
            cause=f"{target_dataset}: {error}.",
            remediation="Fix the dataset's definition in exportable_datasets/.",
        ) from error


@router.post(
    "/api/datasets/exportable/export",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404),
)
async def export_exportable_datasets(body: ExportBody, services: ServicesDep) -> TaskAccepted:
    """Export datasets to a zip of CSV files (a task; its result names the file to download
    from /exports/{filename}, and its progress counts the rows written)."""
    return await _start_export(services, body, to_usb=False)


@router.post(
    "/api/datasets/exportable/export-to-usb",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404, 409),
)
async def export_exportable_datasets_to_usb(
    body: ExportBody, services: ServicesDep
) -> TaskAccepted:
    """The same export, copied to the leader's USB drive (the result adds its path)."""
    return await _start_export(services, body, to_usb=True)


@router.get(
    "/exports/{filename}",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}, **error_responses(404)},
)
async def get_export(
    filename: Annotated[str, Path(max_length=64)], services: ServicesDep
) -> FileResponse:
    """Download a finished export."""
    path = services.settings.exports_dir / filename
    if not EXPORT_NAME.match(filename) or not await asyncio.to_thread(path.is_file):
        raise ApiError(
            404,
            "Export not found",
            cause=f"No finished export is named {filename!r}; exports are removed after "
            "[pioleader] export_retention_hours.",
            remediation="Export again with POST /api/datasets/exportable/export.",
        )
    return FileResponse(path, media_type="application/zip", filename=filename)
