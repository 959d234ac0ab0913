"""Running a profile: every action of every job, on every unit it names, at its time.

Times are profile time: seconds since the profile started, multiplied by ``speedup`` (1 in
production; tests and demos run hours of profile in seconds). The actions of one job on one
unit run in time order; ``repeat`` and ``when`` blocks run alongside them. A failed action (a
unit that is down, a job it does not have) is logged and the profile goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pioleader.profiles.expressions import (
    ExpressionError,
    Reference,
    Scope,
    compile_expression,
    evaluate,
    templates,
)
from pioleader.profiles.schema import Action, Job, Profile, parse_duration

logger = logging.getLogger("pioleader.profiles")

# How often, in real seconds, a ``when`` condition is looked at (at most, and at least).
POLL_LONGEST = 5.0
POLL_SHORTEST = 0.02


class ActionFailed(Exception):
    """An action could not be carried out; the message says why."""


@dataclass(frozen=True)
class JobStart:
    """How a start action starts its job."""

    options: Mapping[str, Any]
    args: list[str]
    config_overrides: list[tuple[str, str, str]]


class Cluster(Protocol):
    """What a running profile does to the cluster."""

    async def workers_of(self, experiment: str) -> list[str]: ...

    async def start(self, unit: str, job: str, experiment: str, start: JobStart) -> None: ...

    async def set_setting(
        self, unit: str, job: str, experiment: str, setting: str, value: Any
    ) -> None: ...

    async def read_setting(self, unit: str, job: str, setting: str) -> str | None: ...


Log = Callable[[str, str], Awaitable[None]]
# Wait ``seconds`` of real time; False if the profile was stopped meanwhile.
Wait = Callable[[float], Awaitable[bool]]


class Stopped(Exception):
    """The profile was stopped; every pending action is dropped."""


@dataclass
class Execution:
    profile: Profile
    experiment: str
    cluster: Cluster
    log: Log
    wait: Wait
    speedup: float = 1.0

    def __post_init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()

    def elapsed(self) -> float:
        """Profile seconds since the start."""
        return (self._loop.time() - self._started) * self.speedup

    async def run(self) -> None:
        """Run every action; return when all are done, or when the profile is stopped."""
        self._started = self._loop.time()
        workers = await self.cluster.workers_of(self.experiment)
        plans: list[tuple[str, str, Job]] = [
            (unit, name, job) for unit in workers for name, job in self.profile.common.jobs.items()
        ]
        for key, block in self.profile.pioreactors.items():
            unit = self.profile.unit_of(key)
            if unit not in workers:
                await self.log(
                    "warning",
                    f"{unit} is not an active worker of {self.experiment}: its actions are "
                    "skipped.",
                )
                continue
            plans.extend((unit, name, job) for name, job in block.jobs.items())
        try:
            async with asyncio.TaskGroup() as group:
                for unit, name, job in plans:
                    group.create_task(self._sequence(unit, name, job.actions, 0.0))
        except* Stopped:
            logger.info("profile %s stopped", self.profile.experiment_profile_name)

    # -- timing ---------------------------------------------------------------------------------

    async def _until(self, moment: float) -> None:
        """Wait until profile time ``moment``; raise Stopped if the profile stops first."""
        delay = (moment - self.elapsed()) / self.speedup
        if not await self.wait(max(0.0, delay)):
            raise Stopped

    def _poll_interval(self) -> float:
        return min(POLL_LONGEST, max(POLL_SHORTEST, 60.0 / self.speedup))

    # -- actions --------------------------------------------------------------------------------

    async def _sequence(self, unit: str, job: str, actions: list[Action], base: float) -> None:
        # repeat and when blocks run alongside the job's later actions.
        async with asyncio.TaskGroup() as blocks:
            for action in sorted(actions, key=Action.seconds):
                at = base + action.seconds()
                await self._until(at)
                if not await self._allowed(action, unit, job):
                    continue
                if action.type == "repeat":
                    blocks.create_task(self._repeat(unit, job, action, at))
                elif action.type == "when":
                    blocks.create_task(self._when(unit, job, action))
                else:
                    await self._do(unit, job, action)

    async def _allowed(self, action: Action, unit: str, job: str) -> bool:
        if action.if_ is None:
            return True
        try:
            allowed = bool(await self._evaluate(action.if_, unit))
        except ExpressionError as error:
            await self.log("error", f"{unit} {job}: `if` of a {action.type} action {error}.")
            return False
        if not allowed:
            await self.log("info", f"{unit} {job}: skipped {action.type}, its `if` is false.")
        return allowed

    async def _repeat(self, unit: str, job: str, action: Action, start: float) -> None:
        every = parse_duration(action.every)
        limit = parse_duration(action.max_time) if action.max_time is not None else None
        iteration = start
        while limit is None or iteration - start < limit:
            await self._until(iteration)
            if action.while_ is not None and not await self._truthy(action.while_, unit, job):
                break
            await self._sequence(unit, job, action.actions, iteration)
            iteration += every
        await self.log("debug", f"{unit} {job}: repeat ended.")

    async def _when(self, unit: str, job: str, action: Action) -> None:
        while not await self._truthy(action.wait_until, unit, job):
            if not await self.wait(self._poll_interval()):
                raise Stopped
        await self._sequence(unit, job, action.actions, self.elapsed())

    async def _truthy(self, value: bool | str | None, unit: str, job: str) -> bool:
        try:
            return bool(await self._evaluate(value, unit))
        except ExpressionError as error:
            await self.log("error", f"{unit} {job}: condition {value!r} {error}.")
            return False

    async def _do(self, unit: str, job: str, action: Action) -> None:
        hours = self.elapsed() / 3600
        try:
            options = {key: await self._render(v, unit) for key, v in action.options.items()}
            if action.type == "log":
                level = str(options.get("level", "notice")).lower()
                await self.log(level, str(options.get("message", "")))
                return
            if action.type == "start":
                overrides = [
                    (f"{job}.config", key, "" if value is None else str(value))
                    for key, value in action.config_overrides.items()
                ]
                start = JobStart(options, list(action.args), overrides)
                await self.cluster.start(unit, job, self.experiment, start)
            elif action.type in ("stop", "pause", "resume"):
                state = {"stop": "disconnected", "pause": "sleeping", "resume": "ready"}
                await self.cluster.set_setting(
                    unit, job, self.experiment, "$state", state[action.type]
                )
            else:
                for setting, value in options.items():
                    await self.cluster.set_setting(unit, job, self.experiment, setting, value)
        except (ActionFailed, ExpressionError) as error:
            await self.log("error", f"{unit} {job}: {action.type} failed: {error}")
            return
        detail = f" {options}" if options and action.type in ("start", "update") else ""
        await self.log("info", f"{unit} {job}: {action.type}{detail} at {hours:.4f} h.")

    # -- expressions ----------------------------------------------------------------------------

    async def _evaluate(self, value: bool | str | None, unit: str) -> Any:
        if value is None or isinstance(value, bool):
            return value
        expression = compile_expression(value)

        async def resolve(reference: Reference) -> str | None:
            return await self.cluster.read_setting(
                reference.unit or unit, reference.job, reference.setting
            )

        scope = Scope(self.profile.inputs, self.elapsed() / 3600)
        return await evaluate(expression, scope, resolve)

    async def _render(self, value: Any, unit: str) -> Any:
        """An option's value, with each ``${{ … }}`` replaced by what it evaluates to."""
        if not isinstance(value, str):
            return value
        bodies = templates(value)
        if not bodies:
            return value
        if value.strip().startswith("${{") and value.strip().endswith("}}") and len(bodies) == 1:
            return await self._evaluate(bodies[0], unit)
        rendered = value
        for body in bodies:
            rendered = rendered.replace(
                "${{" + body + "}}", str(await self._evaluate(body, unit)), 1
            )
        return rendered
