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
from pioleader.unit.jobs.base import BackgroundJob
from pioleader.unit.jobs.growth_rate import GrowthRateCalculating
from pioleader.unit.jobs.od_reading import ODBlank, ODReading
from pioleader.unit.jobs.stirring import Stirring

HARDWARE_JOBS: dict[str, type[BackgroundJob]] = {
    job.job_name: job
    for job in (
        Stirring,
        ODReading,
        ODBlank,
        GrowthRateCalculating,
        AddMedia,
        AddAltMedia,
        RemoveWaste,
        CirculateMedia,
        CirculateAltMedia,
        LedIntensity,
    )
}


def describe(job: type[BackgroundJob]) -> dict[str, Any]:
    options = [
        {"name": name, "type": option.datatype, "default": option.default, "help": option.help}
        for name, option in job.options.items()
    ]
    example = " ".join(
        f"--{name.replace('_', '-')} <{option.datatype}>" for name, option in job.options.items()
    )
    return {
        "job_name": job.job_name,
        "automation_name": None,
        "help": job.help,
        "arguments": [],
        "options": options,
        "published_settings": {
            name: {"datatype": spec.datatype, "settable": spec.settable, "unit": spec.unit}
            for name, spec in job.published_settings.items()
        },
        "cli_example": f"pio run {job.job_name} {example}".strip(),
    }
