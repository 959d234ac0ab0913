"""Profile checks and expressions: every example validates; each problem is located by line
and path with a hint; expressions evaluate safely."""

from __future__ import annotations

from importlib import resources

import pytest

from pioleader.profiles.expressions import ExpressionError, Scope, compile_expression, evaluate
from pioleader.profiles.expressions import Reference as Ref
from pioleader.profiles.schema import parse_duration
from pioleader.profiles.validate import ProfileInvalid, load_profile
from pioleader.unit.jobs.catalog import HARDWARE_JOBS

EXAMPLES = sorted(
    entry.name
    for entry in resources.files("pioleader.profiles").joinpath("examples").iterdir()
    if entry.name.endswith(".yaml")
)


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_validate(name: str) -> None:
    """It should accept every shipped example without warnings."""
    text = resources.files("pioleader.profiles").joinpath("examples", name).read_text()
    profile, warnings = load_profile(text, catalog=HARDWARE_JOBS, workers=["pio01", "pio02"])
    assert profile.experiment_profile_name and warnings == []


def test_examples_are_the_three_we_document() -> None:
    assert EXAMPLES == ["demo_turbidostat.yaml", "stirring_ramp.yaml", "temperature_step.yaml"]


BAD = """\
experiment_profile_name: x
common:
  jobs:
    stiring:
      actions:
        - {type: start, t: 0}
    stirring:
      actions:
        - {type: start, t: -1, options: {speed: 3}}
        - {type: update, t: 1h, options: {measured_rpm: 3}}
        - {type: stop, t: 2h, options: {x: 1}}
        - {type: log, t: 3h}
        - type: repeat
          t: 1
          every: 10m
          actions:
            - {type: log, t: 20m, options: {message: hi}}
            - {type: update, t: 0, if: "1 +", options: {target_rpm: 3}}
        - {type: when, t: 0, actions: [{type: stop, t: 0}]}
pioreactors:
  pio 1: {}
  pio09: {}
"""


def test_every_problem_is_located_with_a_hint() -> None:
    """It should report each error with its line, path and a hint, and warnings apart."""
    with pytest.raises(ProfileInvalid) as caught:
        load_profile(BAD, catalog=HARDWARE_JOBS, workers=["pio01"])
    found = {(d.severity, d.code, d.line, d.path) for d in caught.value.diagnostics}
    assert found == {
        ("error", "bad_unit", 21, "pioreactors.pio 1"),
        ("warning", "unknown_unit", 22, "pioreactors.pio09"),
        ("error", "unknown_job", 4, "common.jobs.stiring"),
        ("error", "bad_time", 9, "common.jobs.stirring.actions[0].t"),
        ("error", "unknown_option", 9, "common.jobs.stirring.actions[0].options.speed"),
        ("error", "unknown_setting", 10, "common.jobs.stirring.actions[1].options.measured_rpm"),
        ("error", "field_not_allowed", 11, "common.jobs.stirring.actions[2].options"),
        ("error", "missing_message", 12, "common.jobs.stirring.actions[3].options.message"),
        ("warning", "endless_repeat", 13, "common.jobs.stirring.actions[4]"),
        ("error", "after_repeat", 17, "common.jobs.stirring.actions[4].actions[0].t"),
        ("error", "bad_expression", 18, "common.jobs.stirring.actions[4].actions[1].if"),
        ("error", "missing_condition", 19, "common.jobs.stirring.actions[5]"),
    }
    assert all(d.hint for d in caught.value.diagnostics)


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("experiment_profile_name: [\n", "yaml_syntax", 2),
        ("- just a list\n", "not_a_mapping", 1),
        ("metadata: {}\n", "schema", 1),
        ("experiment_profile_name: x\ncommon:\n  jobz: {}\n", "schema", 3),
        (
            "experiment_profile_name: x\ncommon:\n  jobs:\n    stirring:\n      actions:\n"
            "        - {type: jump, t: 0}\n",
            "schema",
            6,
        ),
    ],
)
def test_structure_errors(text: str, code: str, line: int) -> None:
    """It should refuse bad YAML and bad structure, pointing at the line where it can."""
    with pytest.raises(ProfileInvalid) as caught:
        load_profile(text, catalog=HARDWARE_JOBS)
    (first, *_) = caught.value.diagnostics
    assert (first.code, first.line) == (code, line)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (1.5, 5400.0),
        ("30s", 30.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("0.5", 1800.0),
    ],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", [-1, "-2h", "soon", True, "3h10m", None])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


async def test_expressions_read_settings_inputs_and_time() -> None:
    """It should evaluate references (with JSON keys), inputs, booleans and hours_elapsed()."""
    read: list[Ref] = []

    async def resolve(reference: Ref) -> str | None:
        read.append(reference)
        return {"od1": '{"od": 1.2}', "target_rpm": "450.0", "$state": "ready"}[reference.setting]

    async def value(text: str) -> object:
        return await evaluate(compile_expression(text), Scope({"limit": 1.0}, 2.5), resolve)

    assert await value("${{ pio01:od_reading:od1.od > limit }}") is True
    assert await value("::stirring:target_rpm + 50") == 500.0
    assert await value("pio1::stirring::$state == 'ready' and not False") is True
    assert await value("hours_elapsed() >= 2 or TRUE") is True
    assert read[0] == Ref("pio01", "od_reading", "od1", ("od",))
    assert read[1].unit == ""  # the action's own unit


@pytest.mark.parametrize("text", ['__import__("os")', "a.b", "1 +", "[1]", "x if y else z", ""])
def test_unsafe_or_broken_expressions_are_refused(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(text)


async def test_unknown_names_fail_at_evaluation() -> None:
    async def resolve(reference: Ref) -> str | None:
        return None

    with pytest.raises(ExpressionError, match="neither an input"):
        await evaluate(compile_expression("nope > 1"), Scope({}, 0), resolve)


def test_automation_jobs_are_checked_against_their_automations() -> None:
    """It should require a known automation_name on start, and accept updates of the
    automation's own fields (target_temperature) while refusing others."""
    text = """\
experiment_profile_name: heat
common:
  jobs:
    temperature_automation:
      actions:
        - {type: start, t: 0, options: {automation_name: thermostatt}}
        - {type: update, t: 1, options: {target_temperature: 37, colour: red}}
"""
    with pytest.raises(ProfileInvalid) as caught:
        load_profile(text, catalog=HARDWARE_JOBS)
    found = {(d.code, d.line) for d in caught.value.diagnostics}
    assert found == {("unknown_automation", 6), ("unknown_setting", 7)}
    assert "thermostat" in caught.value.diagnostics[0].message
