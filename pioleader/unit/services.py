"""Everything a unit's ``/unit_api`` needs, built at start-up by the worker or the leader."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pioleader import __version__
from pioleader.api.descriptors.store import DescriptorCatalog, shipped_directory
from pioleader.api.models.catalog import PioreactorModel
from pioleader.bus import Bus, MqttBus
from pioleader.clock import Clock
from pioleader.configuration import ConfigFiles
from pioleader.db import Database
from pioleader.settings import MqttSettings
from pioleader.tasks import TaskRunner
from pioleader.unit.bioreactor import BioreactorStore
from pioleader.unit.cache import PersistentCache
from pioleader.unit.calibrations.protocols import StepContext
from pioleader.unit.calibrations.sessions import SessionManager, SessionStore
from pioleader.unit.calibrations.store import CALIBRATIONS, ESTIMATORS, DocumentStore
from pioleader.unit.hardware import Hardware
from pioleader.unit.jobs.base import BackgroundJob
from pioleader.unit.manager import JobManager
from pioleader.unit.plugins import Plugins
from pioleader.unit.presence import Presence
from pioleader.unit.registry import JobRegistry, unit_migrations

logger = logging.getLogger("pioleader.unit")


class Lifecycle(Protocol):
    """What reboot and shutdown do to this unit's process."""

    def reboot(self) -> None: ...

    def shutdown(self) -> None: ...


class ProcessLifecycle:
    """Reboot re-executes the unit's process (same pid, fresh state); shutdown ends it."""

    def reboot(self) -> None:
        logger.warning("rebooting: re-executing %s", " ".join(sys.argv))
        os.execv(sys.executable, [sys.executable, "-m", "pioleader", *sys.argv[1:]])

    def shutdown(self) -> None:
        logger.warning("shutting down")
        os.kill(os.getpid(), signal.SIGTERM)


class RecordingLifecycle:
    """For in-process tests: remembers what was asked instead of doing it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def reboot(self) -> None:
        self.calls.append("reboot")

    def shutdown(self) -> None:
        self.calls.append("shutdown")


@dataclass(frozen=True)
class UnitServices:
    name: str
    leader: str
    clock: Clock
    tasks: TaskRunner
    jobs: JobManager
    registry: JobRegistry
    bioreactor: BioreactorStore
    bus: Bus
    config_files: ConfigFiles
    model: PioreactorModel | None
    lifecycle: Lifecycle
    version: str
    calibrations: DocumentStore
    estimators: DocumentStore
    sessions: SessionManager
    plugins: Plugins
    descriptors: DescriptorCatalog
    # Whether configuration reads may show secrets: only when every caller is authenticated.
    reveal_secrets: bool = False

    @property
    def data_dir(self) -> Path:
        return self.config_files.data_dir

    async def reload_plugins(self) -> None:
        """Import the plugins afresh and give the job manager the jobs they add."""
        await asyncio.to_thread(self.plugins.load)
        self.jobs.catalog = self.plugins.catalog()

    async def after(self, seconds: float, action: str) -> None:
        """Stop every job, then reboot or shut down, once the answer has been sent."""
        await asyncio.sleep(seconds)
        await self.jobs.shutdown()
        getattr(self.lifecycle, action)()


@contextlib.asynccontextmanager
async def open_unit(
    *,
    name: str,
    leader: str,
    data_dir: Path,
    clock: Clock,
    tasks: TaskRunner,
    bus: Bus,
    mqtt: MqttSettings,
    hardware: Hardware,
    catalog: Mapping[str, type[BackgroundJob]],
    model: PioreactorModel | None,
    lifecycle: Lifecycle,
    reveal_secrets: bool = False,
) -> AsyncIterator[UnitServices]:
    """Open a unit's registry and job manager; stop its jobs when closed."""
    db = Database(
        data_dir / "storage" / "local_intermittent_pioreactor_metadata.sqlite",
        migrations=unit_migrations(),
        readers=2,
    )
    await db.open()
    try:
        registry = JobRegistry(db, name, leader)
        ended = await registry.end_all_running(clock.now())
        if ended:
            logger.warning("%d job(s) of an earlier run of %s had ended", ended, name)
        files = ConfigFiles(data_dir)
        calibrations = DocumentStore(data_dir, db, CALIBRATIONS, name)
        bioreactor = BioreactorStore(db)
        plugins = Plugins(data_dir, catalog)
        await asyncio.to_thread(plugins.load)
        jobs = JobManager(
            unit=name,
            leader=leader,
            catalog=plugins.catalog(),
            config_files=files,
            hardware=hardware,
            mqtt=mqtt,
            registry=registry,
            clock=clock,
            calibrations=calibrations,
            bioreactor=bioreactor,
            capacity_ml=model.reactor_capacity_ml if model else None,
            cache=PersistentCache(db),
        )
        steps = StepContext(
            unit=name,
            hardware=hardware,
            calibrations=calibrations,
            now=clock.now,
            running_jobs=lambda: {job.job_name for job in jobs.running_jobs()},
        )
        # Only on a real broker connection (which carries the "lost" will): a test's
        # recording bus sees only what its handlers publish.
        presence = Presence(bus, name, __version__) if isinstance(bus, MqttBus) else None
        if presence is not None:
            presence.start()
        try:
            yield UnitServices(
                name=name,
                leader=leader,
                clock=clock,
                tasks=tasks,
                jobs=jobs,
                registry=registry,
                bioreactor=bioreactor,
                bus=bus,
                config_files=files,
                model=model,
                lifecycle=lifecycle,
                version=__version__,
                calibrations=calibrations,
                estimators=DocumentStore(data_dir, db, ESTIMATORS, name),
                sessions=SessionManager(SessionStore(db), steps),
                reveal_secrets=reveal_secrets,
                plugins=plugins,
                descriptors=DescriptorCatalog(
                    shipped_directory(),
                    data_dir / "ui",
                    plugins.folder / "ui",
                    plugin_packages=plugins.site,
                ),
            )
        finally:
            await jobs.shutdown()
            if presence is not None:
                await presence.withdraw()
    finally:
        await db.close()
