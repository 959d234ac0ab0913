"""Every stateful resource of the leader, built at start-up and closed at shutdown.

``create_app`` calls ``open_services`` in its lifespan; handlers reach the resources through
the dependency aliases of ``deps.py``. Tests swap any edge resource (clock, bus, transport to
units, task ids) through ``Overrides`` instead of patching import paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from pioleader.api.assignments.store import AssignmentStore
from pioleader.api.chart_preferences.store import ChartPreferenceStore
from pioleader.api.config.service import ConfigSync
from pioleader.api.config.store import ConfigStore
from pioleader.api.dosing.store import DosingStore
from pioleader.api.experiments.store import ExperimentStore
from pioleader.api.labels.store import LabelStore
from pioleader.api.logs.store import LogStore
from pioleader.api.models.catalog import ModelCatalog
from pioleader.api.profiles.service import LeaderCluster
from pioleader.api.profiles.store import ProfileRunStore
from pioleader.api.timeseries.cache import SeriesCache
from pioleader.api.timeseries.store import TimeSeriesStore
from pioleader.api.workers.store import WorkerStore
from pioleader.bus import Bus
from pioleader.bus.audit import AuditLog
from pioleader.clock import Clock, SystemClock
from pioleader.cluster import UnitClient, UnitDirectory
from pioleader.cluster.discovery import Discovery, ZeroconfDiscovery, interfaces_for
from pioleader.cluster.targets import Targets
from pioleader.cluster.transport import AiohttpTransport, UnitTransport
from pioleader.datasets.catalog import DatasetCatalog
from pioleader.datasets.export import Exporter, Opener, open_for_writing
from pioleader.db import Database, app_migrations
from pioleader.launcher import Launcher, WorkerLauncher
from pioleader.profiles.files import ProfileFiles
from pioleader.profiles.job import JOB_NAME, ProfileRuntime, experiment_profile_job
from pioleader.resources import open_bus, open_task_runner
from pioleader.settings import LeaderSettings
from pioleader.tasks import TaskRunner
from pioleader.tasks.runner import new_task_id
from pioleader.unit.hardware import NoHardware
from pioleader.unit.jobs.catalog import HARDWARE_JOBS
from pioleader.unit.presence import monitor_will
from pioleader.unit.services import Lifecycle, RecordingLifecycle, UnitServices, open_unit

logger = logging.getLogger("pioleader")


@dataclass(frozen=True)
class Overrides:
    """Edge resources a test or an embedding program may provide instead of the real ones."""

    clock: Clock | None = None
    bus: Bus | None = None
    unit_transport: UnitTransport | None = None
    new_task_id: Callable[[], str] | None = None
    # What reboot/shutdown of the leader's unit do; the CLI gives ProcessLifecycle. By default
    # they are only recorded, so that an embedded or tested app never ends its own process.
    lifecycle: Lifecycle | None = None
    # How export files are opened: a test gives one whose disk fills up part-way.
    export_opener: Opener | None = None
    # How workers are found (mDNS by default) and simulated ones started.
    discovery: Discovery | None = None
    launcher: Launcher | None = None


@dataclass(frozen=True)
class Services:
    settings: LeaderSettings
    clock: Clock
    db: Database
    bus: Bus
    tasks: TaskRunner
    units: UnitClient
    directory: UnitDirectory
    targets: Targets
    audit: AuditLog
    experiments: ExperimentStore
    workers: WorkerStore
    assignments: AssignmentStore
    labels: LabelStore
    chart_preferences: ChartPreferenceStore
    timeseries: TimeSeriesStore
    logs: LogStore
    dosing: DosingStore
    profile_runs: ProfileRunStore
    profile_files: ProfileFiles
    config_store: ConfigStore
    config_sync: ConfigSync
    models: ModelCatalog
    datasets: DatasetCatalog
    exporter: Exporter
    unit: UnitServices
    discovery: Discovery
    # None unless [pioleader] launch_simulated_workers is true (``pioleader up`` sets it).
    launcher: Launcher | None


@contextlib.asynccontextmanager
async def open_services(
    settings: LeaderSettings, overrides: Overrides | None = None
) -> AsyncIterator[Services]:
    overrides = overrides or Overrides()
    clock = overrides.clock or SystemClock()
    async with contextlib.AsyncExitStack() as stack:
        db = Database(settings.database_path, migrations=app_migrations())
        await db.open()
        stack.push_async_callback(db.close)

        tasks = await open_task_runner(
            stack,
            settings.task_database_path,
            clock,
            unit_name=settings.leader_hostname,
            ttl_seconds=settings.task_result_ttl_seconds,
            new_id=overrides.new_task_id or new_task_id,
        )
        bus = await open_bus(
            stack,
            settings.mqtt,
            client_id=f"pioleader-{settings.leader_hostname}-api",
            override=overrides.bus,
            will=monitor_will(settings.leader_hostname),
        )

        transport = overrides.unit_transport or AiohttpTransport(
            headers=settings.safety.auth_headers()
        )
        stack.push_async_callback(transport.aclose)
        directory = UnitDirectory(settings.config_files)
        workers = WorkerStore(db)
        models = ModelCatalog(settings.data_dir / "models")
        exporter = Exporter(
            settings.database_path,
            settings.exports_dir,
            min_free_bytes=settings.export_min_free_bytes,
            opener=overrides.export_opener or open_for_writing,
        )
        if leftovers := await asyncio.to_thread(exporter.remove_partials):
            logger.warning("removed %d partial export(s) left by an earlier run", len(leftovers))
        client = UnitClient(transport, directory, settings.unit_timeouts)
        assignments = AssignmentStore(db)
        profile_runs = ProfileRunStore(db)
        profile_files = ProfileFiles(settings.data_dir / "experiment_profiles")
        await profile_files.ensure_examples()
        profile_job = experiment_profile_job(
            ProfileRuntime(
                files=profile_files,
                cluster=LeaderCluster(units=client, assignments=assignments, bus=bus),
                catalog=HARDWARE_JOBS,
                workers=workers.names,
                record_run=profile_runs.add,
            )
        )
        unit = await stack.enter_async_context(
            open_unit(
                name=settings.leader_hostname,
                leader=settings.leader_hostname,
                data_dir=settings.data_dir,
                clock=clock,
                tasks=tasks,
                bus=bus,
                mqtt=settings.mqtt,
                hardware=NoHardware(),
                catalog={JOB_NAME: profile_job},
                model=None,
                lifecycle=overrides.lifecycle or RecordingLifecycle(),
                reveal_secrets=settings.safety.api_key is not None,
            )
        )
        targets = Targets(workers, settings.leader_hostname)
        config_store = ConfigStore(db)
        config_sync = ConfigSync(
            files=settings.config_files,
            store=config_store,
            units=client,
            targets=targets,
            clock=clock,
        )
        await config_sync.record_current()
        if settings.config_sync_interval_seconds > 0:
            catch_up = asyncio.create_task(
                config_sync.run(settings.config_sync_interval_seconds), name="config catch-up"
            )
            stack.push_async_callback(_cancel, catch_up)
        config = await asyncio.to_thread(settings.config_files.merged)
        discovery = overrides.discovery or ZeroconfDiscovery(
            interfaces_for(
                settings.leader_address, config.get("pioleader", "mdns_interfaces", fallback="")
            )
        )
        stack.push_async_callback(discovery.aclose)
        launcher = overrides.launcher
        if launcher is None and config.getboolean(
            "pioleader", "launch_simulated_workers", fallback=False
        ):
            launcher = WorkerLauncher(
                settings,
                speedup=_optional_float(
                    config.get("pioleader", "simulated_worker_speedup", fallback="")
                ),
            )
        if launcher is not None:
            stack.push_async_callback(launcher.close)
        yield Services(
            settings=settings,
            clock=clock,
            db=db,
            bus=bus,
            tasks=tasks,
            units=client,
            directory=directory,
            targets=targets,
            audit=AuditLog(bus, tasks, clock, settings.leader_hostname),
            experiments=ExperimentStore(db),
            workers=workers,
            assignments=assignments,
            labels=LabelStore(db),
            chart_preferences=ChartPreferenceStore(db),
            timeseries=TimeSeriesStore(db, SeriesCache(settings.time_series_cache_points)),
            logs=LogStore(db),
            dosing=DosingStore(db),
            profile_runs=profile_runs,
            profile_files=profile_files,
            config_store=config_store,
            config_sync=config_sync,
            models=models,
            datasets=DatasetCatalog(settings.data_dir),
            exporter=exporter,
            unit=unit,
            discovery=discovery,
            launcher=launcher,
        )


def _optional_float(text: str) -> float | None:
    return float(text) if text.strip() else None


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
