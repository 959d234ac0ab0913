"""The descriptor files we ship agree with the jobs, automations, bioreactor variables and
tables they describe: every key the UI shows or sends is one a job really has."""

from __future__ import annotations

import pytest

from pioleader.api.descriptors.store import AUTOMATION_TYPES, DescriptorCatalog, shipped_directory
from pioleader.ingester.topics import TABLES
from pioleader.unit.bioreactor import VARIABLES
from pioleader.unit.jobs.automation import AutomationJob
from pioleader.unit.jobs.catalog import HARDWARE_JOBS
from pioleader.unit.jobs.dosing import DosingAutomation
from pioleader.unit.jobs.led import LedAutomation
from pioleader.unit.jobs.temperature import TemperatureAutomation

CATALOG = DescriptorCatalog(shipped_directory())
AUTOMATION_JOBS: dict[str, type[AutomationJob]] = {
    "dosing": DosingAutomation,
    "led": LedAutomation,
    "temperature": TemperatureAutomation,
}
# led_intensity: the UI drives it through its LED controls; monitor: a system job, no card.
WITHOUT_DESCRIPTOR = {"led_intensity", "monitor"}


def settings_of(job_name: str) -> dict[str, bool]:
    """Every setting a job can publish → whether it is settable (automation fields too)."""
    job = HARDWARE_JOBS[job_name]
    found = {name: spec.settable for name, spec in job.published_settings.items()}
    if issubclass(job, AutomationJob):
        for automation in job.automations.values():
            found.update(dict.fromkeys(automation.fields, True))
    return found


async def test_every_job_has_a_descriptor_and_every_shown_setting_exists() -> None:
    descriptors = {d.job_name: d for d in await CATALOG.jobs()}
    assert set(descriptors) == set(HARDWARE_JOBS) - WITHOUT_DESCRIPTOR
    for job_name, descriptor in descriptors.items():
        real = settings_of(job_name)
        for setting in descriptor.published_settings:
            assert setting.key in real, f"{job_name}.{setting.key} is not a setting"
            if setting.editable:
                assert real[setting.key], f"{job_name}.{setting.key} is shown editable"


@pytest.mark.parametrize("automation_type", AUTOMATION_TYPES)
async def test_automation_fields_are_the_automations_settings(automation_type: str) -> None:
    descriptors = {d.automation_name: d for d in await CATALOG.automations(automation_type)}
    automations = AUTOMATION_JOBS[automation_type].automations
    assert set(descriptors) == set(automations)
    for name, descriptor in descriptors.items():
        fields = automations[name].fields
        assert {f.key for f in descriptor.fields} == set(fields), name
        for field in descriptor.fields:
            spec = fields[field.key]
            assert field.default == spec.default, f"{name}.{field.key} default"
            assert field.unit == spec.unit, f"{name}.{field.key} unit"
            assert (field.options or []) == list(spec.choices), f"{name}.{field.key} options"
            assert field.type == ("numeric" if spec.datatype in ("float", "integer") else "string")


async def test_settings_descriptors_name_real_bioreactor_variables() -> None:
    settings = {d.key: d for d in await CATALOG.settings()}
    for setting in settings["bioreactor"].published_settings:
        assert setting.key in VARIABLES


async def test_charts_read_real_tables_and_topics() -> None:
    tables = {table.name: table for table in TABLES}
    for chart in await CATALOG.charts():
        table = tables[chart.data_source]
        if chart.data_source_column is not None:
            assert chart.data_source_column in table.columns, chart.chart_key
        job, _, setting = chart.mqtt_topic.partition("/")
        if job == "bioreactor":
            assert setting in VARIABLES
        else:
            assert setting in settings_of(job), chart.mqtt_topic
