"""Every MQTT topic pioleader publishes to, built in one place from checked segments.

A segment never contains ``/``, ``+``, ``#`` or NUL: a unit, experiment or job name that did
would address other topics (upstream publishes such names as they come).
"""

from __future__ import annotations

from pioleader.errors import ApiError

BROADCAST = "$broadcast"
UNIVERSAL_EXPERIMENT = "$experiment"
_FORBIDDEN = ("/", "+", "#", "\x00")


def segment(value: str, what: str) -> str:
    """Check that ``value`` can stand as one topic level."""
    if not value or any(char in value for char in _FORBIDDEN):
        raise ApiError(
            400,
            f"Invalid {what}.",
            cause=f"{what} {value!r} cannot be used in an MQTT topic.",
            remediation=f"Use a {what} without '/', '+', '#' or NUL characters.",
        )
    return value


def assignment(unit: str) -> str:
    """Retained: which experiment a unit is assigned to."""
    return f"pioreactor/{segment(unit, 'unit')}/{UNIVERSAL_EXPERIMENT}/assignment"


def job_setting(unit: str, experiment: str, job: str, setting: str) -> str:
    """Retained: a published setting of a running job."""
    return "/".join(
        (
            "pioreactor",
            segment(unit, "unit"),
            segment(experiment, "experiment"),
            segment(job, "job name"),
            segment(setting, "setting"),
        )
    )


def set_job_setting(unit: str, experiment: str, job: str, setting: str) -> str:
    """Ask a running job to change a setting (``$state`` included)."""
    return job_setting(unit, experiment, job, setting) + "/set"


def monitor_setting(unit: str, setting: str) -> str:
    """Retained: a unit's presence (``$state``) and facts (``versions``), where upstream's
    monitor job publishes them."""
    return job_setting(unit, UNIVERSAL_EXPERIMENT, "monitor", setting)


def blink(unit: str) -> str:
    """Ask a unit's monitor job to flash its LED (``$broadcast``: every unit's)."""
    return "/".join(
        (
            "pioreactor",
            segment(unit, "unit"),
            UNIVERSAL_EXPERIMENT,
            "monitor",
            "flicker_led_response_okay",
        )
    )


def log(unit: str, experiment: str, source: str, level: str) -> str:
    return "/".join(
        (
            "pioreactor",
            segment(unit, "unit"),
            segment(experiment, "experiment"),
            "logs",
            segment(source, "log source"),
            segment(level.lower(), "log level"),
        )
    )
