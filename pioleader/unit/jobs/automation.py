"""What every automation job shares (jobs-and-automations §3.4): ``automation_name`` picks one
automation of its kind; the automation's fields are start options and settable settings, checked
against their ranges; each run's event is published on ``latest_event``; the settings record
goes to ``<kind>_automation/<kind>_automation_settings`` when the automation starts, changes
and ends."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pioleader.clock import format_timestamp
from pioleader.unit.jobs.base import BackgroundJob, Datatype, Facts, JobRefused, Option, Setting

FieldType = Literal["float", "integer", "string", "boolean"]


@dataclass(frozen=True)
class Field:
    """One setting of an automation: a start option, and settable while it runs."""

    datatype: FieldType
    default: Any
    help: str
    label: str
    unit: str | None = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    above_low: bool = False  # the value must be strictly greater than ``low``

    def problem(self, name: str, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this field, or None."""
        if self.choices and value not in self.choices:
            return f"{name} must be one of {', '.join(self.choices)}, got {value!r}."
        if self.datatype not in ("float", "integer"):
            return None
        number = float(value)
        if self.low is not None and (number < self.low or (self.above_low and number == self.low)):
            bound = ">" if self.above_low else "≥"
            return f"{name} must be {bound} {self.low:g}, got {number:g}."
        if self.high is not None and number > self.high:
            return f"{name} must be ≤ {self.high:g}, got {number:g}."
        return None


@dataclass(frozen=True)
class Event:
    """What a run of an automation did (``AutomationEvent`` on the wire)."""

    event_name: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {"event_name": self.event_name, "message": self.message, "data": self.data}


class AutomationError(Exception):
    """A run of an automation could not do its work; reported as an ErrorOccurred event."""


J = TypeVar("J", bound="AutomationJob")


class Automation(Generic[J]):
    """One automation. Reads its settings from the job, acts through the job."""

    automation_name: ClassVar[str]
    display_name: ClassVar[str]
    description: ClassVar[str]
    fields: ClassVar[dict[str, Field]] = {}

    def __init__(self, job: J) -> None:
        self.job = job

    def setting(self, name: str) -> Any:
        return self.job.values[name]

    def period_seconds(self) -> float | None:
        """Seconds between runs of ``execute``, or None if the automation reacts to events."""
        return None

    async def start(self) -> None:
        """Prepare (subscriptions, hardware) once the job is set up."""

    async def execute(self) -> Event | None:
        return None

    async def changed(self, name: str) -> None:
        """A setting changed while running."""

    async def stop(self) -> None:
        """Leave the hardware safe."""


AUTOMATION_SETTINGS: dict[str, Setting] = {
    "automation_name": Setting("string", persist=True),
    "automation": Setting("json", persist=True),
    "latest_event": Setting("json"),
}


class AutomationJob(BackgroundJob):
    """A job that runs the automation named by its ``automation_name`` option. Subclasses
    list their ``automation_classes`` and the ``extra_settings`` they publish."""

    kind: ClassVar[str]
    automation_classes: ClassVar[tuple[type[Automation[Any]], ...]]
    extra_settings: ClassVar[dict[str, Setting]] = {}
    automations: ClassVar[dict[str, type[Automation[Any]]]]
    first_run_delay_seconds: ClassVar[float] = 2.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.automations = {a.automation_name: a for a in cls.automation_classes}
        cls.options = cls.automation_options(cls.automation_classes)
        cls.published_settings = {**AUTOMATION_SETTINGS, **cls.extra_settings}

    @classmethod
    def automation_options(
        cls, automations: tuple[type[Automation[Any]], ...]
    ) -> dict[str, Option]:
        options = {
            "automation_name": Option("string", "The automation to run (required)."),
            "skip_first_run": Option("boolean", "Wait a whole period before the first run.", False),
        }
        for automation in automations:
            for name, spec in automation.fields.items():
                options.setdefault(name, Option(spec.datatype, spec.help, spec.default))
        return options

    @classmethod
    def check_options(cls, options: Mapping[str, Any], facts: Facts) -> str | None:
        name = options.get("automation_name")
        automation = cls.automations.get(str(name))
        if automation is None:
            return (
                f"options.automation_name must be one of {', '.join(sorted(cls.automations))},"
                f" got {name!r}."
            )
        extra = sorted(
            set(options) - set(automation.fields) - {"automation_name", "skip_first_run"}
        )
        if extra:
            return (
                f"options.{extra[0]} is not a setting of {automation.automation_name}"
                f" (its settings: {', '.join(automation.fields) or 'none'})."
            )
        for key, spec in automation.fields.items():
            if options.get(key) is not None:
                problem = spec.problem(key, options[key])
                if problem:
                    return f"options.{problem}"
        return None

    async def on_init(self) -> None:
        name = str(self.option("automation_name"))
        automation_class = self.automations.get(name)
        if automation_class is None:
            raise JobRefused(f"Unknown {self.kind} automation {name!r}.")
        self.automation = automation_class(self)
        self.started_at = self.context.clock.now()
        self.settings_spec.update(
            {
                key: Setting(_wire_type(spec.datatype), settable=True, unit=spec.unit)
                for key, spec in automation_class.fields.items()
            }
        )
        await self.publish_setting("automation_name", name)
        for key, spec in automation_class.fields.items():
            given = self._options.get(key)
            await self.publish_setting(key, spec.default if given is None else given)
        await self._publish_record(None)
        await self.automation.start()

    def check_setting(self, name: str, value: Any) -> Any:
        spec = self.automation.fields.get(name)
        problem = spec.problem(name, value) if spec else None
        if problem:
            raise ValueError(problem)
        return value

    async def on_setting_changed(self, name: str) -> None:
        if name in self.automation.fields:
            await self.automation.changed(name)
            await self._publish_record(None)

    async def main(self) -> None:
        period = self.automation.period_seconds()
        if period is None:
            await self._stop.wait()
            return
        delay = period if self.option("skip_first_run") else self.first_run_delay_seconds
        while await self.pause(delay):
            await self.while_ready()
            await self.run_once()
            delay = self.automation.period_seconds() or period

    async def run_once(self) -> None:
        """One run of the automation; its event, if any, is published and logged."""
        try:
            event = await self.automation.execute()
        except (AutomationError, ValueError, ArithmeticError, RuntimeError) as error:
            # Reported; the next run may succeed.
            event = Event("ErrorOccurred", str(error))
        if event is not None:
            await self.report(event)

    async def report(self, event: Event) -> None:
        await self.publish_setting("latest_event", event.payload())
        await self.log("info", f"{event.event_name}: {event.message}")

    async def on_disconnected(self) -> None:
        if hasattr(self, "automation"):
            await self.automation.stop()
            await self._publish_record(self.context.clock.now())

    async def _publish_record(self, ended_at: datetime | None) -> None:
        settings = {key: self.values.get(key) for key in self.automation.fields}
        record = {
            "pioreactor_unit": self.context.unit,
            "experiment": self.context.experiment,
            "started_at": format_timestamp(self.started_at),
            "ended_at": None if ended_at is None else format_timestamp(ended_at),
            "automation_name": self.automation.automation_name,
            "settings": base64.b64encode(json.dumps(settings).encode()).decode(),
        }
        await self.publish_setting("automation", record)
        await self.publish_data(f"{self.job_name}/{self.kind}_automation_settings", record)


def _wire_type(datatype: FieldType) -> Datatype:
    return datatype
