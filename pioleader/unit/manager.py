"""Starting and stopping jobs on this unit.

Jobs run as asyncio tasks of the unit's process, each with its own MQTT connection and last
will, so that killing the process makes the broker announce every job ``lost``.
"""

from __future__ import annotations

import asyncio
import configparser
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pioleader.clock import Clock
from pioleader.configuration import ConfigFiles
from pioleader.settings import MqttSettings
from pioleader.unit.bioreactor import BioreactorStore
from pioleader.unit.hardware import Hardware
from pioleader.unit.jobs.base import BackgroundJob, Facts, JobContext, JobRefused
from pioleader.unit.registry import JobRegistry

logger = logging.getLogger("pioleader.unit.jobs")

DEBOUNCE_SECONDS = 1.0
START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0


class UnknownJob(Exception):
    pass


class AlreadyRunning(Exception):
    def __init__(self, job_name: str, job_id: int) -> None:
        super().__init__(f"{job_name} is already running (job_id={job_id}). Skipping.")


class TooSoon(Exception):
    pass


class InvalidOption(Exception):
    pass


@dataclass
class _Running:
    job: BackgroundJob
    task: asyncio.Task[None]


def _cast_option(job: type[BackgroundJob], name: str, value: Any) -> Any:
    option = job.options.get(name)
    if option is None:
        known = ", ".join(job.options) or "none"
        raise InvalidOption(f"{job.job_name} has no option {name!r} (options: {known}).")
    if value is None:
        return None
    try:
        if option.datatype == "float":
            return float(value)
        if option.datatype == "integer":
            return int(value)
        if option.datatype == "boolean":
            return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes"}
        return str(value)
    except (TypeError, ValueError) as error:
        raise InvalidOption(
            f"option {name!r} must be a {option.datatype}, not {value!r}."
        ) from error


class JobManager:
    def __init__(
        self,
        *,
        unit: str,
        leader: str,
        catalog: Mapping[str, type[BackgroundJob]],
        config_files: ConfigFiles,
        hardware: Hardware,
        mqtt: MqttSettings,
        registry: JobRegistry,
        clock: Clock,
        bioreactor: BioreactorStore | None = None,
        capacity_ml: float | None = None,
    ) -> None:
        self.unit = unit
        self.leader = leader
        self.catalog = dict(catalog)
        self._config_files = config_files
        self._hardware = hardware
        self._mqtt = mqtt
        self._registry = registry
        self._clock = clock
        self._bioreactor = bioreactor
        self._capacity_ml = capacity_ml
        self._running: dict[str, _Running] = {}
        self._last_start: dict[str, float] = {}

    def job_class(self, job_name: str) -> type[BackgroundJob]:
        job = self.catalog.get(job_name)
        if job is None:
            raise UnknownJob(job_name)
        return job

    async def _config(
        self, config_overrides: Sequence[tuple[str, str, str]]
    ) -> configparser.ConfigParser:
        config = await asyncio.to_thread(self._config_files.merged)
        for section, key, value in config_overrides:
            if not config.has_section(section):
                config.add_section(section)
            config.set(section, key, value)
        return config

    async def check(
        self,
        job_name: str,
        *,
        experiment: str,
        options: Mapping[str, Any],
        config_overrides: Sequence[tuple[str, str, str]],
    ) -> None:
        """Refuse options a job could not start with (InvalidOption), before starting it."""
        job_class = self.job_class(job_name)
        typed = {name: _cast_option(job_class, name, v) for name, v in options.items()}
        config = await self._config(config_overrides)
        values = await self._bioreactor.values(experiment, config) if self._bioreactor else {}
        problem = job_class.check_options(typed, Facts(config, values, self._capacity_ml))
        if problem:
            raise InvalidOption(problem)

    async def start(
        self,
        job_name: str,
        *,
        experiment: str,
        options: Mapping[str, Any],
        env: Mapping[str, str],
        config_overrides: Sequence[tuple[str, str, str]],
        job_source: str,
        args: Sequence[str] = (),
    ) -> int:
        """Start a job and wait until it is ready; return its job id."""
        job_class = self.job_class(job_name)
        if job_name in self._running:
            raise AlreadyRunning(job_name, self._running[job_name].job.job_id)
        last = self._last_start.get(job_name)
        if last is not None and time.monotonic() - last < DEBOUNCE_SECONDS:
            raise TooSoon(job_name)
        cast_options = {name: _cast_option(job_class, name, v) for name, v in options.items()}
        self._last_start[job_name] = time.monotonic()
        config = await self._config(config_overrides)
        job = job_class(
            JobContext(
                unit=self.unit,
                experiment=experiment,
                job_source=job_source,
                leader=self.leader,
                config=config,
                hardware=self._hardware,
                mqtt=self._mqtt,
                registry=self._registry,
                clock=self._clock,
                env=dict(env),
                args=tuple(args),
                bioreactor=self._bioreactor,
                capacity_ml=self._capacity_ml,
            ),
            cast_options,
        )
        started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(job.run(started), name=f"job:{job_name}")
        self._running[job_name] = _Running(job, task)
        task.add_done_callback(lambda _: self._forget(job_name, task))
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                return await started
        except TimeoutError as error:
            job.request_stop()
            raise JobRefused(
                f"{job_name} did not become ready within {START_TIMEOUT_SECONDS:g} s."
            ) from error

    def _forget(self, job_name: str, task: asyncio.Task[None]) -> None:
        current = self._running.get(job_name)
        if current is not None and current.task is task:
            del self._running[job_name]
        if not task.cancelled() and task.exception() is not None:
            logger.error("job %s ended with an error: %s", job_name, task.exception())

    def running_jobs(self) -> list[BackgroundJob]:
        return [running.job for running in self._running.values()]

    async def stop(
        self,
        *,
        job_name: str | None = None,
        experiment: str | None = None,
        job_source: str | None = None,
        job_id: int | None = None,
        include_long_running: bool = True,
    ) -> list[str]:
        """Stop the running jobs matching every given filter; return their names."""
        chosen = [
            running
            for running in self._running.values()
            if (job_name is None or running.job.job_name == job_name)
            and (experiment is None or running.job.context.experiment == experiment)
            and (job_source is None or running.job.context.job_source == job_source)
            and (job_id is None or running.job.job_id == job_id)
            and (include_long_running or not running.job.long_running)
        ]
        for running in chosen:
            running.job.request_stop()
        if chosen:
            await asyncio.wait([r.task for r in chosen], timeout=STOP_TIMEOUT_SECONDS)
        return sorted(running.job.job_name for running in chosen)

    async def stop_all(self) -> list[str]:
        """Stop every job but the long-running ones (as upstream's "stop all")."""
        return await self.stop(include_long_running=False)

    async def shutdown(self) -> None:
        await self.stop()
