"""Reading a profile's YAML and checking it, with diagnostics that point at the problem.

Each diagnostic names the path in the document (``common.jobs.stirring.actions[1].t``), the
line it is on, what is wrong and how to fix it. Structure is checked first (the YAML and the
schema), then meaning: known jobs and their options, action fields that fit the action type,
times, expressions, and units.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from pioleader.api.names import check_unit_name
from pioleader.profiles.expressions import ExpressionError, compile_expression, templates
from pioleader.profiles.schema import BASIC_TYPES, Action, Job, Profile, parse_duration
from pioleader.unit.jobs.automation import AutomationJob
from pioleader.unit.jobs.base import BackgroundJob

# Jobs of upstream Pioreactor a profile may name even where this cluster does not run them
# (yet): a profile written for real hardware stays valid here. Options and settings are
# checked for the jobs this cluster knows in detail (the units' job catalog).
PIOREACTOR_JOBS = frozenset(
    {
        "stirring",
        "od_reading",
        "growth_rate_calculating",
        "temperature_automation",
        "dosing_automation",
        "led_automation",
        "add_media",
        "remove_waste",
        "add_alternative_media",
        "circulate_media",
        "circulate_alt_media",
        "led_intensity",
        "self_test",
        "od_blank",
    }
)
LOG_LEVELS = frozenset({"debug", "info", "notice", "warning", "error"})
MAX_ACTIONS = 248

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Diagnostic:
    severity: Literal["error", "warning"]
    code: str
    message: str
    path: str
    line: int | None
    hint: str | None = None

    def describe(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        return f"{where}{self.path or 'document'}: {self.message}"


class ProfileInvalid(Exception):
    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.describe() for d in diagnostics))
        self.diagnostics = diagnostics


def render_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _lines(text: str) -> dict[Path, int]:
    """The 1-based line of every key and item of a YAML document."""
    lines: dict[Path, int] = {}

    def walk(node: yaml.Node, path: Path) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


@dataclass
class _Report:
    lines: Mapping[Path, int]
    found: list[Diagnostic] = field(default_factory=list)

    def add(
        self,
        path: Path,
        code: str,
        message: str,
        hint: str | None = None,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        line = None
        for length in range(len(path), -1, -1):
            line = self.lines.get(path[:length])
            if line is not None:
                break
        self.found.append(Diagnostic(severity, code, message, render_path(path), line, hint))


def load_profile(
    text: str,
    *,
    catalog: Mapping[str, type[BackgroundJob]],
    workers: Collection[str] | None = None,
) -> tuple[Profile, list[Diagnostic]]:
    """Parse and check a profile; raise ProfileInvalid if anything is an error.

    ``workers`` (the registered workers) turns units the cluster does not know into warnings.
    """
    try:
        document = yaml.safe_load(text)
        lines = _lines(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise ProfileInvalid(
            [
                Diagnostic(
                    "error",
                    "yaml_syntax",
                    f"not valid YAML: {problem}",
                    "",
                    mark.line + 1 if mark else None,
                    "Check the indentation (spaces, not tabs) and the colons on that line.",
                )
            ]
        ) from error
    report = _Report(lines)
    if not isinstance(document, dict):
        report.add(
            (),
            "not_a_mapping",
            "a profile is a YAML mapping (key: value lines)",
            "Start with `experiment_profile_name: <name>`.",
        )
        raise ProfileInvalid(report.found)
    try:
        profile = Profile.model_validate(document)
    except ValidationError as error:
        for problem in error.errors():
            path = tuple(p for p in problem["loc"] if not str(p).startswith("function-"))
            path = tuple(p for p in path if p not in ("str", "float", "bool", "int"))
            report.add(path, "schema", _schema_message(problem), _schema_hint(problem))
        raise ProfileInvalid(report.found) from error
    _check_meaning(profile, report, catalog, workers)
    if any(d.severity == "error" for d in report.found):
        raise ProfileInvalid(report.found)
    return profile, report.found


def _schema_message(problem: Mapping[str, Any]) -> str:
    if problem["type"] == "extra_forbidden":
        return "is not a field of a profile here"
    if problem["type"] == "missing":
        return "is required"
    if problem["type"] == "literal_error":
        return f"{problem['input']!r} is not one of {problem['ctx']['expected']}"
    return str(problem["msg"])


def _schema_hint(problem: Mapping[str, Any]) -> str:
    if problem["type"] == "extra_forbidden":
        return "Check the spelling and the indentation; see the profile format in the README."
    if problem["type"] == "missing":
        return "Add it."
    if problem["type"] == "literal_error":
        return "Use one of the values listed."
    return "Fix the value's type (text, number, list or mapping as the format says)."


def _jobs_of(profile: Profile) -> Iterator[tuple[Path, str, Job, str | None]]:
    for name, job in profile.common.jobs.items():
        yield ("common", "jobs", name), name, job, None
    for key, block in profile.pioreactors.items():
        for name, job in block.jobs.items():
            yield ("pioreactors", key, "jobs", name), name, job, profile.unit_of(key)


def _check_meaning(
    profile: Profile,
    report: _Report,
    catalog: Mapping[str, type[BackgroundJob]],
    workers: Collection[str] | None,
) -> None:
    if not profile.experiment_profile_name.strip():
        report.add(("experiment_profile_name",), "empty_name", "must not be empty", "Name it.")
    for key in profile.pioreactors:
        unit = profile.unit_of(key)
        try:
            check_unit_name(unit)
        except ValueError as error:
            report.add(
                ("pioreactors", key),
                "bad_unit",
                f"unit {unit!r} {error}",
                "Use the worker's hostname.",
            )
            continue
        if workers is not None and unit not in workers:
            report.add(
                ("pioreactors", key),
                "unknown_unit",
                f"{unit} is not a registered worker; its actions will be skipped",
                "Register it (PUT /api/workers) or fix the name.",
                severity="warning",
            )
    total = 0
    for path, name, job, _unit in _jobs_of(profile):
        if name not in PIOREACTOR_JOBS and name not in catalog:
            known = ", ".join(sorted(PIOREACTOR_JOBS | set(catalog)))
            report.add(path, "unknown_job", f"{name!r} is not a known job", f"Jobs: {known}.")
            continue
        if not job.actions:
            report.add(
                path,
                "no_actions",
                "has no actions",
                "Add actions, or remove the job.",
                severity="warning",
            )
        for index, action in enumerate(job.actions):
            total += 1 + _count(action)
            _check_action(
                action, (*path, "actions", index), name, catalog.get(name), report, inside=None
            )
    if total > MAX_ACTIONS:
        report.add(
            (),
            "too_many_actions",
            f"has {total} actions; at most {MAX_ACTIONS}",
            "Use repeat for actions that recur.",
        )


def _count(action: Action) -> int:
    return sum(1 + _count(child) for child in action.actions)


def _check_expression(value: object, path: Path, report: _Report) -> None:
    if isinstance(value, str):
        try:
            compile_expression(value)
        except ExpressionError as error:
            report.add(
                path,
                "bad_expression",
                f"the expression {value!r} {error}",
                "Use and/or/not, comparisons, + - * /, inputs and "
                "<unit>:<job>:<setting> references.",
            )


_CONTAINER_FIELDS = {
    "repeat": ("actions", "every", "while", "max_time"),
    "when": ("actions", "wait_until"),
}


def _check_action(
    action: Action,
    path: Path,
    job_name: str,
    job: type[BackgroundJob] | None,
    report: _Report,
    inside: Action | None,
) -> None:
    _check_time(action, path, report, inside)
    _check_expression(action.if_, (*path, "if"), report)
    for key, value in action.options.items():
        if isinstance(value, str):
            for body in templates(value):
                _check_expression(body, (*path, "options", key), report)
    _check_fields(action, path, report)
    if action.type in _CONTAINER_FIELDS:
        _check_container(action, path, report, inside)
        for index, child in enumerate(action.actions):
            _check_action(child, (*path, "actions", index), job_name, job, report, inside=action)
    else:
        _check_basic(action, path, job_name, job, report)


def _check_time(action: Action, path: Path, report: _Report, inside: Action | None) -> None:
    if action.t is not None and action.hours_elapsed is not None:
        report.add(path, "two_times", "has both t and hours_elapsed", "Keep only t.")
    if action.t is None and action.hours_elapsed is None:
        report.add(path, "no_time", "has no time", "Add t, e.g. `t: 0` or `t: 30m`.")
        return
    key = "t" if action.t is not None else "hours_elapsed"
    try:
        seconds = action.seconds()
    except ValueError as error:
        report.add(
            (*path, key),
            "bad_time",
            f"{key} {error}",
            "Times are hours (1.5) or a number with s, m, h or d (30s, 2h).",
        )
        return
    every = _seconds_or_none(inside.every) if inside and inside.type == "repeat" else None
    if every is not None and seconds >= every:
        report.add(
            (*path, key),
            "after_repeat",
            f"{key} is not within one repeat period ({inside.every if inside else ''})",
            "Nested times count from the start of each iteration.",
        )


def _check_fields(action: Action, path: Path, report: _Report) -> None:
    """Fields that belong to another action type."""
    allowed = _CONTAINER_FIELDS.get(action.type, ())
    for field_name, present in (
        ("actions", bool(action.actions)),
        ("every", action.every is not None),
        ("while", action.while_ is not None),
        ("max_time", action.max_time is not None),
        ("wait_until", action.wait_until is not None),
    ):
        if present and field_name not in allowed:
            report.add(
                (*path, field_name),
                "field_not_allowed",
                f"{field_name} is not a field of a {action.type} action",
                "Remove it, or use the action type it belongs to.",
            )
    if (action.args or action.config_overrides) and action.type != "start":
        report.add(
            path,
            "field_not_allowed",
            "args and config_overrides are for start only",
            "Move them to the start action.",
        )
    if action.options and action.type in _CONTAINER_FIELDS:
        report.add(
            (*path, "options"),
            "field_not_allowed",
            f"a {action.type} action has no options",
            "Put options on its actions.",
        )


def _check_container(action: Action, path: Path, report: _Report, inside: Action | None) -> None:
    if inside is not None:
        report.add(
            path,
            "nested_container",
            f"a {action.type} inside a {inside.type} is not supported",
            "Put it at the job's level.",
        )
    if not action.actions:
        report.add(
            path, "no_actions", f"a {action.type} action needs actions", "Add the actions it runs."
        )
    if action.type == "repeat":
        _check_repeat(action, path, report)
        return
    if action.wait_until is None:
        report.add(
            path,
            "missing_condition",
            "a when action needs wait_until",
            "Add wait_until: <expression>.",
        )
    _check_expression(action.wait_until, (*path, "wait_until"), report)


def _seconds_or_none(value: object) -> float | None:
    try:
        return parse_duration(value)
    except ValueError:
        return None


def _check_repeat(action: Action, path: Path, report: _Report) -> None:
    every = _seconds_or_none(action.every) if action.every is not None else None
    if action.every is None:
        report.add(
            path,
            "missing_every",
            "a repeat action needs every",
            "Add every: <time between iterations>, e.g. every: 1h.",
        )
    elif every is None or every <= 0:
        report.add(
            (*path, "every"),
            "bad_time",
            f"every {action.every!r} is not a positive time",
            "Use e.g. every: 30m.",
        )
    if action.max_time is not None and _seconds_or_none(action.max_time) is None:
        report.add(
            (*path, "max_time"),
            "bad_time",
            f"max_time {action.max_time!r} is not a time",
            "Use e.g. max_time: 12h.",
        )
    if action.max_time is None and action.while_ is None:
        report.add(
            path,
            "endless_repeat",
            "repeats until the profile is stopped",
            "Add max_time or while to end it.",
            severity="warning",
        )
    _check_expression(action.while_, (*path, "while"), report)


def _check_basic(
    action: Action, path: Path, job_name: str, job: type[BackgroundJob] | None, report: _Report
) -> None:
    if action.type == "log":
        _check_log(action, path, report)
        return
    if action.type in ("stop", "pause", "resume") and action.options:
        report.add(
            (*path, "options"),
            "field_not_allowed",
            f"a {action.type} action has no options",
            "Remove them.",
        )
    if action.type == "update" and not action.options:
        report.add(
            path,
            "missing_options",
            "an update action needs options to change",
            "Add options: {<setting>: <value>}.",
        )
    if job is not None:
        _check_job_fields(action, path, job_name, job, report)


def _check_log(action: Action, path: Path, report: _Report) -> None:
    message = action.options.get("message")
    if not isinstance(message, str) or not message:
        report.add(
            (*path, "options", "message"),
            "missing_message",
            "a log action needs options.message",
            "Add options: {message: <text>}.",
        )
    level = str(action.options.get("level", "notice")).lower()
    if level not in LOG_LEVELS:
        report.add(
            (*path, "options", "level"),
            "bad_level",
            f"level {level!r} is unknown",
            f"Use one of {', '.join(sorted(LOG_LEVELS))}.",
        )


def _check_job_fields(
    action: Action, path: Path, job_name: str, job: type[BackgroundJob], report: _Report
) -> None:
    if action.type == "start":
        for key in action.options:
            if key not in job.options:
                report.add(
                    (*path, "options", key),
                    "unknown_option",
                    f"{key!r} is not an option of {job_name}",
                    f"Options of {job_name}: {', '.join(job.options) or 'none'}.",
                )
    if action.type == "start" and issubclass(job, AutomationJob):
        name = action.options.get("automation_name")
        if not (isinstance(name, str) and (name in job.automations or templates(name))):
            report.add(
                (*path, "options", "automation_name"),
                "unknown_automation",
                f"{job_name} needs options.automation_name, one of "
                f"{', '.join(sorted(job.automations))}; not {name!r}",
                f"Add automation_name: {next(iter(sorted(job.automations)), '…')}.",
            )
    if action.type == "update":
        settable = [n for n, s in job.published_settings.items() if s.settable]
        if issubclass(job, AutomationJob):  # each automation's fields are settable too
            settable += [f for a in job.automation_classes for f in a.fields if f not in settable]
        for key in action.options:
            if key not in settable:
                report.add(
                    (*path, "options", key),
                    "unknown_setting",
                    f"{key!r} is not a setting of {job_name} that can be changed",
                    f"Settable: {', '.join(settable) or 'none'}.",
                )


__all__ = [
    "BASIC_TYPES",
    "Diagnostic",
    "ProfileInvalid",
    "load_profile",
]
