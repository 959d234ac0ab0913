"""The jobs a unit can run, and how it describes them (``/unit_api/capabilities``)."""

from __future__ import annotations

from typing import Any

from pioleader.unit.jobs.actions import (
    AddAltMedia,
    AddMedia,
    CirculateAltMedia,
    CirculateMedia,
    LedIntensity,
    RemoveWaste,
)
from pioleader.unit.jobs.automation import Automation, AutomationJob
from pioleader.unit.jobs.base import BackgroundJob, Option, Setting
from pioleader.unit.jobs.dosing import DosingAutomation, DosingAutomationContrib
from pioleader.unit.jobs.growth_rate import GrowthRateCalculating
from pioleader.unit.jobs.led import LedAutomation, LedAutomationContrib
from pioleader.unit.jobs.monitor import Monitor
from pioleader.unit.jobs.od_reading import ODBlank, ODReading
from pioleader.unit.jobs.self_test import SelfTest
from pioleader.unit.jobs.stirring import Stirring
from pioleader.unit.jobs.temperature import TemperatureAutomation, TemperatureAutomationContrib

HARDWARE_JOBS: dict[str, type[BackgroundJob]] = {
    job.job_name: job
    for job in (
        Stirring,
        ODReading,
        ODBlank,
        GrowthRateCalculating,
        TemperatureAutomation,
        DosingAutomation,
        LedAutomation,
        AddMedia,
        AddAltMedia,
        RemoveWaste,
        CirculateMedia,
        CirculateAltMedia,
        LedIntensity,
        SelfTest,
        Monitor,
    )
}

# The base a plugin's automation subclasses, by the job that runs it.
AUTOMATION_BASES: dict[str, type[Automation[Any]]] = {
    DosingAutomation.job_name: DosingAutomationContrib,
    TemperatureAutomation.job_name: TemperatureAutomationContrib,
    LedAutomation.job_name: LedAutomationContrib,
}


def describe(job: type[BackgroundJob]) -> list[dict[str, Any]]:
    """The job's capabilities: one entry, or one per automation for an automation job."""
    if not issubclass(job, AutomationJob):
        return [_entry(job.job_name, None, job.help, job.options, job.published_settings)]
    return [
        _entry(
            job.job_name,
            name,
            automation.description,
            {
                "automation_name": Option("string", "The automation to run.", name),
                **{
                    key: Option(spec.datatype, spec.help, spec.default)
                    for key, spec in automation.fields.items()
                },
            },
            {
                **job.published_settings,
                **{
                    key: Setting(spec.datatype, settable=True, unit=spec.unit)
                    for key, spec in automation.fields.items()
                },
            },
        )
        for name, automation in job.automations.items()
    ]


def _entry(
    job_name: str,
    automation_name: str | None,
    help_text: str,
    options: dict[str, Option],
    settings: dict[str, Setting],
) -> dict[str, Any]:
    example = " ".join(
        f"--{name.replace('_', '-')} <{option.datatype}>" for name, option in options.items()
    )
    command = f"{job_name} {automation_name}" if automation_name else job_name
    return {
        "job_name": job_name,
        "automation_name": automation_name,
        "help": help_text,
        "arguments": [],
        "options": [
            {"name": name, "type": o.datatype, "default": o.default, "help": o.help}
            for name, o in options.items()
        ],
        "published_settings": {
            name: {"datatype": spec.datatype, "settable": spec.settable, "unit": spec.unit}
            for name, spec in settings.items()
        },
        "cli_example": f"pio run {command} {example}".strip(),
    }
