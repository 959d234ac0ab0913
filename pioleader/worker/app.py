"""``create_worker_app(settings)``: a unit's FastAPI application.

The lifespan opens the unit's task store, its MQTT connection, its registry and job manager,
and the hardware backend; the routes are the unit API shared with the leader.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from fastapi import FastAPI

from pioleader import __version__
from pioleader.api.descriptors.router import unit_router as unit_descriptors_router
from pioleader.api.models.catalog import BUILT_IN_MODELS
from pioleader.bus import Bus
from pioleader.clock import Clock, SystemClock
from pioleader.cluster.discovery import Announced, Announcer
from pioleader.configuration import ConfigFiles
from pioleader.configuration.defaults import TopologyDefaults
from pioleader.errors import install_error_handlers
from pioleader.resources import open_bus, open_task_runner
from pioleader.security import install_request_safety
from pioleader.settings import (
    MqttSettings,
    SafetySettings,
    mqtt_from_config,
    safety_from_config,
    task_ttl_seconds,
)
from pioleader.unit.hardware import CultureParameters, Hardware, SimulatedHardware
from pioleader.unit.jobs.catalog import HARDWARE_JOBS
from pioleader.unit.presence import monitor_will
from pioleader.unit.router import unit_api_router
from pioleader.unit.services import Lifecycle, RecordingLifecycle, open_unit


@dataclass(frozen=True)
class WorkerSettings:
    name: str
    data_dir: Path
    port: int
    leader_hostname: str = "leader"
    bind_host: str = "127.0.0.1"
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    model_name: str = "pioreactor_40ml"
    model_version: str = "1.5"
    task_result_ttl_seconds: float = 7 * 24 * 3600
    speedup: float = 1.0
    safety: SafetySettings = field(default_factory=SafetySettings)
    # Register the worker over mDNS, so that a leader's discovery finds it.
    announce: bool = False

    @property
    def announced_address(self) -> str:
        return "127.0.0.1" if self.bind_host in ("0.0.0.0", "", "localhost") else self.bind_host


@dataclass(frozen=True)
class WorkerOverrides:
    clock: Clock | None = None
    bus: Bus | None = None
    hardware: Hardware | None = None
    lifecycle: Lifecycle | None = None


def load_worker_settings(data_dir: Path, args: argparse.Namespace) -> WorkerSettings:
    """Settings of a worker from its data directory's configuration and the command line.

    A new directory gets default configuration files (``pioleader up`` copies the leader's
    shared ``config.ini`` in before starting the worker).
    """
    if args.port is None:
        raise SystemExit("pioleader worker needs --port")
    files = ConfigFiles(data_dir)
    files.ensure_defaults(TopologyDefaults(mqtt_port=args.mqtt_port or 1883))
    config = files.merged()
    mqtt = mqtt_from_config(config)
    return WorkerSettings(
        name=args.name,
        data_dir=data_dir,
        port=args.port,
        bind_host=args.host or "127.0.0.1",
        leader_hostname=config.get("cluster.topology", "leader_hostname", fallback="leader"),
        mqtt=replace(mqtt, host=args.mqtt_host or mqtt.host, port=args.mqtt_port or mqtt.port),
        model_name=args.model_name,
        model_version=args.model_version,
        task_result_ttl_seconds=task_ttl_seconds(config),
        speedup=args.speedup
        if args.speedup is not None
        else config.getfloat("simulation", "speedup", fallback=1.0),
        safety=safety_from_config(config),
        announce=bool(getattr(args, "announce", False)),
    )


def create_worker_app(
    settings: WorkerSettings, overrides: WorkerOverrides | None = None
) -> FastAPI:
    overrides = overrides or WorkerOverrides()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        clock = overrides.clock or SystemClock()
        await asyncio.to_thread(
            ConfigFiles(settings.data_dir).ensure_defaults,
            TopologyDefaults(
                leader_hostname=settings.leader_hostname, mqtt_port=settings.mqtt.port
            ),
        )
        async with contextlib.AsyncExitStack() as stack:
            tasks = await open_task_runner(
                stack,
                settings.data_dir / "storage" / "task_results.sqlite",
                clock,
                unit_name=settings.name,
                ttl_seconds=settings.task_result_ttl_seconds,
            )
            bus = await open_bus(
                stack,
                settings.mqtt,
                client_id=f"pioleader-{settings.name}-unit-api",
                override=overrides.bus,
                will=monitor_will(settings.name),
            )
            model = next(
                (
                    m
                    for m in BUILT_IN_MODELS
                    if (m.model_name, m.model_version)
                    == (settings.model_name, settings.model_version)
                ),
                None,
            )
            if settings.announce:
                announcer = Announcer(
                    Announced(
                        pioreactor_unit=settings.name,
                        address=settings.announced_address,
                        port=settings.port,
                        model_name=settings.model_name,
                        model_version=settings.model_version,
                        version=__version__,
                    )
                )
                await announcer.start()
                stack.push_async_callback(announcer.close)
            app.state.unit = await stack.enter_async_context(
                open_unit(
                    name=settings.name,
                    leader=settings.leader_hostname,
                    data_dir=settings.data_dir,
                    clock=clock,
                    tasks=tasks,
                    bus=bus,
                    mqtt=settings.mqtt,
                    hardware=overrides.hardware
                    or SimulatedHardware(
                        clock,
                        CultureParameters.for_unit(
                            settings.name,
                            settings.speedup,
                            capacity_ml=model.reactor_capacity_ml if model else 40.0,
                        ),
                    ),
                    catalog=HARDWARE_JOBS,
                    model=model,
                    lifecycle=overrides.lifecycle or RecordingLifecycle(),
                    reveal_secrets=settings.safety.api_key is not None,
                )
            )
            yield

    app = FastAPI(
        title=f"pioleader unit {settings.name}",
        version=__version__,
        description="The unit API of a pioleader worker.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_request_safety(app, settings.safety)
    app.include_router(unit_api_router())
    app.include_router(unit_descriptors_router)
    return app
