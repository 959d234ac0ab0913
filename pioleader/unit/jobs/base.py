"""The background-job contract (jobs-and-automations.md §1), in our own code.

A job publishes each of its settings retained under ``pioreactor/<unit>/<experiment>/<job>/
<setting>``, its ``$state`` going init → ready (⇄ sleeping) → disconnected, and leaves a last
will of ``lost`` so that a dead process is visible. It listens on ``…/<setting>/set`` (and the
same under ``$broadcast``) for changes to settable settings, cast by their declared type, and
republishes everything after a reconnection. Its rows in the unit's registry say that it runs
and what its settings are.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import aiomqtt

from pioleader.bus import BusUnavailable, MqttBus, Will
from pioleader.bus.topics import BROADCAST
from pioleader.clock import Clock, format_timestamp
from pioleader.settings import MqttSettings
from pioleader.unit.bioreactor import BioreactorStore
from pioleader.unit.hardware import Hardware
from pioleader.unit.registry import JobRegistry

logger = logging.getLogger("pioleader.jobs")

Datatype = Literal["string", "float", "integer", "boolean", "json"]
State = Literal["init", "ready", "sleeping", "disconnected", "lost"]
STATES: tuple[State, ...] = ("init", "ready", "sleeping", "disconnected", "lost")
# About an hour of a busy job's messages: enough for a broker restart or an outage of the
# network, bounded so that a unit cut off for days does not run out of memory.
OUTBOX_MESSAGES = 20_000
_TRUE = {"true", "1", "y", "on", "yes", "t"}


@dataclass(frozen=True)
class Setting:
    """A published setting: its type on the wire, whether /set may change it, its unit."""

    datatype: Datatype
    settable: bool = False
    unit: str | None = None
    persist: bool = False


@dataclass(frozen=True)
class Option:
    """A start option of a job (``{"options": {...}}`` of a run request)."""

    datatype: Literal["float", "integer", "string", "boolean"]
    help: str
    default: Any = None


@dataclass(frozen=True)
class JobContext:
    unit: str
    experiment: str
    job_source: str
    leader: str
    config: configparser.ConfigParser
    hardware: Hardware
    mqtt: MqttSettings
    registry: JobRegistry
    clock: Clock
    env: Mapping[str, str] = field(default_factory=dict)
    bioreactor: BioreactorStore | None = None
    capacity_ml: float | None = None
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facts:
    """What a job's start options are checked against before the job is started."""

    config: configparser.ConfigParser
    bioreactor: Mapping[str, float]
    capacity_ml: float | None


Listener = Callable[[str, bytes], Awaitable[None]]


class JobRefused(Exception):
    """A job could not start; the message says why."""


def cast(datatype: Datatype, payload: bytes) -> Any:
    """Cast a ``/set`` payload by the setting's declared type; raises ValueError."""
    text = payload.decode("utf-8").strip()
    if datatype == "string":
        return text
    if datatype == "float":
        return float(text)
    if datatype == "integer":
        return int(text)
    if datatype == "boolean":
        return text.lower() in _TRUE
    return json.loads(text)


def wire(value: Any) -> str | None:
    """How a setting's value travels: text for scalars (bools as True/False), JSON otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value)


class BackgroundJob:
    """Base of every job. Subclasses declare settings and options and implement ``main``."""

    job_name: ClassVar[str]
    help: ClassVar[str] = ""
    published_settings: ClassVar[dict[str, Setting]] = {}
    options: ClassVar[dict[str, Option]] = {}
    long_running: ClassVar[bool] = False

    def __init__(self, context: JobContext, options: Mapping[str, Any]) -> None:
        self.context = context
        self.settings_spec: dict[str, Setting] = {
            "$state": Setting("string", settable=True, persist=True),
            **self.published_settings,
        }
        self.values: dict[str, Any] = {}
        self.state: State = "disconnected"
        self.job_id = 0
        self._options = dict(options)
        self._stop = asyncio.Event()
        self._awake = asyncio.Event()
        self._bus: MqttBus | None = None
        self._stopping = False
        self._listeners: list[tuple[str, Listener, bool]] = []

    # -- what subclasses implement -----------------------------------------------------------

    @classmethod
    def check_options(cls, options: Mapping[str, Any], facts: Facts) -> str | None:
        """Why these (already typed) start options cannot work, or None. Runs before the job
        starts, so that the API can answer 400 at once."""
        return None

    async def on_init(self) -> None:
        """Set up (hardware, initial settings). Raise JobRefused to refuse to start."""

    async def main(self) -> None:
        """The job's work; runs until the job stops. Call ``await self.while_ready()`` to
        pause while sleeping."""
        await self._stop.wait()

    def check_setting(self, name: str, value: Any) -> Any:
        """The value a ``/set`` should apply, or ValueError to refuse it (logged; the setting
        keeps its value)."""
        return value

    async def on_setting_changed(self, name: str) -> None:
        """A ``/set`` changed ``name``."""

    async def on_sleeping(self) -> None:
        """Put the hardware in a safe, idle state."""

    async def on_ready_again(self) -> None:
        """Resume after sleeping."""

    async def on_disconnected(self) -> None:
        """Release the hardware."""

    # -- helpers for subclasses ---------------------------------------------------------------

    def option(self, name: str) -> Any:
        return self._options.get(name, self.options[name].default)

    def config_get(self, section: str, key: str, fallback: str) -> str:
        return self.context.config.get(section, key, fallback=fallback) or fallback

    @property
    def topic_root(self) -> str:
        return f"pioreactor/{self.context.unit}/{self.context.experiment}/{self.job_name}"

    async def while_ready(self) -> None:
        """Return at once when ready; wait while sleeping."""
        await self._awake.wait()

    async def pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the job stops first; True if it should go on."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        return not self._stop.is_set()

    async def listen(self, topic: str, handler: Listener, *, retained: bool = False) -> None:
        """Call ``handler(topic, payload)`` for messages on ``topic`` (wildcards allowed);
        retained messages too only if ``retained``."""
        self._listeners.append((topic, handler, retained))
        if self._bus is not None:
            await self._bus.subscribe(topic, qos=1)

    def experiment_topic(self, rest: str) -> str:
        return f"pioreactor/{self.context.unit}/{self.context.experiment}/{rest}"

    async def publish_data(self, rest: str, payload: Any, *, retain: bool = False) -> None:
        """Publish a data message (JSON, or a bare number) under this unit and experiment."""
        text = payload if isinstance(payload, str) else json.dumps(payload)
        await self._publish(self.experiment_topic(rest), text, qos=2, retain=retain)

    async def publish_setting(self, name: str, value: Any) -> None:
        """Set a published setting: remember it, publish it retained, record it."""
        self.values[name] = value
        await self._publish_retained(name, value)

    async def log(self, level: str, message: str) -> None:
        getattr(logger, level if level != "notice" else "info")(
            "%s %s: %s", self.context.unit, self.job_name, message
        )
        topic = f"pioreactor/{self.context.unit}/{self.context.experiment}/logs/app/{level}"
        payload = {
            "message": message,
            "level": level.upper(),
            "task": self.job_name,
            "source": "app",
            "timestamp": format_timestamp(self.context.clock.now()),
        }
        await self._publish(topic, json.dumps(payload), qos=0, retain=False)

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self, started: asyncio.Future[int]) -> None:
        """Run the job to its end; ``started`` resolves once it is ready (or fails)."""
        context = self.context
        self.job_id = await context.registry.register(
            experiment=context.experiment,
            job_name=self.job_name,
            job_source=context.job_source,
            pid=os.getpid(),
            long_running=self.long_running,
            now=context.clock.now(),
        )
        self._bus = MqttBus(
            context.mqtt,
            client_id=f"{context.unit}-{self.job_name}-{self.job_id}-{os.getpid()}",
            will=Will(f"{self.topic_root}/$state", "lost"),
            on_message=self._on_message,
            # Readings taken while the broker is away are sent when it is back.
            outbox=OUTBOX_MESSAGES,
        )
        for unit in (context.unit, BROADCAST):
            await self._bus.subscribe(
                f"pioreactor/{unit}/{context.experiment}/{self.job_name}/+/set", qos=1
            )
        self._bus.on_connect(self._republish)
        await self._bus.start()
        try:
            if not await self._bus.wait_connected(5.0):
                raise JobRefused("The MQTT broker is unreachable.")
            await self._set_state("init")
            await self.on_init()
            await self._set_state("ready")
        except BaseException as error:
            await self._finish()
            if not started.done():
                started.set_exception(error)
            if isinstance(error, JobRefused | asyncio.CancelledError):
                return
            raise
        started.set_result(self.job_id)
        work = asyncio.create_task(self.main(), name=f"job:{self.job_name}")
        stop = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
            if work in done and work.exception() is not None:
                await self.log("error", f"Stopped by an error: {work.exception()}")
        finally:
            for task in (work, stop):
                task.cancel()
            await asyncio.gather(work, stop, return_exceptions=True)
            await self._finish()

    def request_stop(self) -> None:
        self._stop.set()

    async def _finish(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        try:
            await self.on_disconnected()
        except Exception:
            logger.exception("%s: cleanup failed", self.job_name)
        for name, spec in self.settings_spec.items():
            if not spec.persist and self.values.get(name) is not None:
                await self.publish_setting(name, None)
        await self._set_state("disconnected")
        if self._bus is not None:
            await self._bus.stop()
        await self.context.registry.ended(self.job_id, self.context.clock.now())

    async def _set_state(self, new: State) -> None:
        if new == self.state:
            return
        old, self.state = self.state, new
        if new == "ready":
            self._awake.set()
        else:
            self._awake.clear()
        if old == "sleeping" and new == "ready":
            await self.on_ready_again()
        if new == "sleeping":
            await self.on_sleeping()
        await self.publish_setting("$state", new)
        if new in ("ready", "disconnected"):
            await self.log("info", f"{new.capitalize()}.")

    # -- MQTT ---------------------------------------------------------------------------------

    async def _publish(self, topic: str, payload: str, *, qos: int, retain: bool) -> None:
        if self._bus is None:
            return
        try:
            await self._bus.publish(topic, payload, qos=qos, retain=retain)
        except BusUnavailable as error:  # an outage must not kill the job; it republishes later
            logger.warning("%s: publish to %s failed: %s", self.job_name, topic, error)

    async def _publish_retained(self, name: str, value: Any) -> None:
        text = wire(value)
        await self._publish(f"{self.topic_root}/{name}", text or "", qos=2, retain=True)
        if self.job_id:
            await self.context.registry.record_setting(
                self.job_id, name, text, self.context.clock.now()
            )

    async def _republish(self) -> None:
        for name, value in list(self.values.items()):
            if value is not None:
                await self._publish_retained(name, value)

    async def _on_message(self, topic: str, payload: bytes, retain: bool) -> None:
        for pattern, handler, wants_retained in list(self._listeners):
            if (wants_retained or not retain) and aiomqtt.Topic(topic).matches(pattern):
                await handler(topic, payload)
        parts = topic.split("/")
        if retain or len(parts) != 6 or parts[5] != "set":
            return
        await self.apply_set(parts[4], payload)

    async def apply_set(self, name: str, payload: bytes) -> None:
        """Handle ``…/<name>/set``: change a settable setting, with a type check."""
        if name in ("$state", "state"):
            await self._change_state(payload.decode("utf-8", "replace").strip())
            return
        spec = self.settings_spec.get(name)
        if spec is None:
            return
        if not spec.settable:
            await self.log(
                "warning", f"Unable to set `{name}` in {self.job_name}. `{name}` is read-only."
            )
            return
        try:
            value = self.check_setting(name, cast(spec.datatype, payload))
            setter = getattr(self, f"set_{name}", None)
            old = self.values.get(name)
            if setter is not None:
                await setter(value)
            else:
                await self.publish_setting(name, value)
        except (ValueError, TypeError, UnicodeDecodeError) as error:
            await self.log("error", f"Refused {name}={payload[:40]!r}: {error}")
            return
        suffix = f" {spec.unit}" if spec.unit and spec.unit != "%" else (spec.unit or "")
        await self.log("info", f"Updated {name} from {old} to {self.values.get(name)}{suffix}.")
        await self.on_setting_changed(name)

    async def _change_state(self, wanted: str) -> None:
        if self._stopping:
            return
        if wanted == "disconnected":
            self.request_stop()
        elif wanted in ("ready", "sleeping") and self.state in ("ready", "sleeping"):
            await self._set_state("ready" if wanted == "ready" else "sleeping")
        else:
            await self.log("error", f"Cannot move from {self.state} to {wanted!r}.")
