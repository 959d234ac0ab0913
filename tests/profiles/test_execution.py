"""Running a profile against a recording cluster, sped up: actions happen in order at their
times (within a tolerance), conditions and repeats behave, and a stop drops what is pending."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from pioleader.profiles.execution import ActionFailed, Execution, JobStart
from pioleader.profiles.validate import load_profile
from pioleader.unit.jobs.catalog import HARDWARE_JOBS
from tests.profiles.samples import TIMED

SPEEDUP = 7200.0  # one profile hour in half a second
TOLERANCE_HOURS = 0.1


@dataclass
class RecordingCluster:
    workers: list[str]
    settings: dict[tuple[str, str, str], str] = field(default_factory=dict)
    done: list[tuple[float, str, str, str, Any]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    execution: Execution | None = None

    def _record(self, unit: str, job: str, what: str, detail: Any) -> None:
        assert self.execution is not None
        self.done.append((self.execution.elapsed() / 3600, unit, job, what, detail))

    async def workers_of(self, experiment: str) -> list[str]:
        return list(self.workers)

    async def start(self, unit: str, job: str, experiment: str, start: JobStart) -> None:
        if unit in self.failing:
            raise ActionFailed(f"{unit} is down")
        self._record(unit, job, "start", dict(start.options))
        for key, value in start.options.items():
            self.settings[(unit, job, key)] = str(value)

    async def set_setting(
        self, unit: str, job: str, experiment: str, setting: str, value: Any
    ) -> None:
        self._record(unit, job, setting, value)
        self.settings[(unit, job, setting)] = str(value)

    async def read_setting(self, unit: str, job: str, setting: str) -> str | None:
        return self.settings.get((unit, job, setting))


async def run(text: str, cluster: RecordingCluster, stop_after: float | None = None) -> list:
    profile, _ = load_profile(text, catalog=HARDWARE_JOBS)
    logs: list[tuple[str, str]] = []
    stop = asyncio.Event()

    async def log(level: str, message: str) -> None:
        logs.append((level, message))

    async def wait(seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                await stop.wait()
        except TimeoutError:
            pass
        return not stop.is_set()

    cluster.execution = Execution(profile, "exp", cluster, log, wait, speedup=SPEEDUP)
    if stop_after is not None:
        asyncio.get_running_loop().call_later(stop_after, stop.set)
    await asyncio.wait_for(cluster.execution.run(), timeout=30)
    return logs


def at(hours: float, actual: float) -> bool:
    return abs(hours - actual) <= TOLERANCE_HOURS


async def test_actions_run_in_order_at_their_times() -> None:
    """It should start, update, pause, resume and stop each unit's job at its time, common
    actions on every worker and per-unit ones only on their unit."""
    text = (
        TIMED
        + """
pioreactors:
  pio02:
    jobs:
      stirring:
        actions:
          - {type: pause, t: 40m}
          - {type: resume, hours_elapsed: 0.8}
"""
    )
    cluster = RecordingCluster(["pio01", "pio02"])
    logs = await run(text, cluster)
    pio01 = [(what, detail) for _, unit, _, what, detail in cluster.done if unit == "pio01"]
    assert pio01 == [
        ("start", {"target_rpm": 400}),
        ("target_rpm", 500),
        ("$state", "disconnected"),
    ]
    pio02 = [
        (round(h, 2), what, detail) for h, unit, _, what, detail in cluster.done if unit == "pio02"
    ]
    expected = [
        (0, "start"),
        (0.5, "target_rpm"),
        (2 / 3, "$state"),
        (0.8, "$state"),
        (1.0, "$state"),
    ]
    assert [what for _, what, _ in pio02] == [what for _, what in expected]
    assert [d for _, _, d in pio02[2:]] == ["sleeping", "ready", "disconnected"]
    for (hours, _, _), (due, _) in zip(pio02, expected, strict=True):
        assert at(due, hours), (due, hours)
    assert any("pio02 stirring: pause" in message for _, message in logs)


async def test_if_repeat_and_when() -> None:
    """It should skip an action whose if is false, repeat every period until max_time while
    the condition holds, and run a when block once its condition becomes true."""
    text = """
experiment_profile_name: logic
inputs: {limit: 600}
common:
  jobs:
    stirring:
      actions:
        - {type: start, t: 0, options: {target_rpm: 400}}
        - {type: update, t: 0.1, if: "::stirring:target_rpm > 1000", options: {target_rpm: 1}}
        - type: repeat
          t: 0.2
          every: 0.25
          max_time: 2
          while: ${{ ::stirring:target_rpm < limit }}
          actions:
            - {type: update, t: 0, options: {target_rpm: "${{ ::stirring:target_rpm + 100 }}"}}
        - type: when
          t: 0
          wait_until: pio01:stirring:target_rpm >= 600
          actions:
            - {type: log, t: 0, options: {message: reached, level: warning}}
"""
    cluster = RecordingCluster(["pio01"])
    logs = await run(text, cluster)
    updates = [
        (hours, detail) for hours, _, _, what, detail in cluster.done if what == "target_rpm"
    ]
    assert [detail for _, detail in updates] == [500.0, 600.0]  # stops once 600 is reached
    assert at(0.2, updates[0][0]) and at(0.45, updates[1][0])
    assert ("warning", "reached") in logs
    assert any("skipped update" in message for _, message in logs)


async def test_failures_are_logged_and_stop_drops_pending_actions() -> None:
    """It should log a failed start and go on, and do nothing more once stopped."""
    text = """
experiment_profile_name: stopped
common:
  jobs:
    stirring:
      actions:
        - {type: start, t: 0}
        - {type: stop, t: 10h}
"""
    cluster = RecordingCluster(["pio01", "pio02"], failing={"pio02"})
    logs = await run(text, cluster, stop_after=0.3)
    assert [(unit, what) for _, unit, _, what, _ in cluster.done] == [("pio01", "start")]
    assert any(level == "error" and "pio02 is down" in message for level, message in logs)


async def test_aliases_name_units() -> None:
    """It should run the actions of an aliased block on the unit the alias stands for."""
    text = """
experiment_profile_name: aliased
aliases: {pio02: treated}
pioreactors:
  treated:
    jobs:
      stirring:
        actions:
          - {type: start, t: 0}
"""
    cluster = RecordingCluster(["pio01", "pio02"])
    await run(text, cluster)
    assert [(unit, what) for _, unit, _, what, _ in cluster.done] == [("pio02", "start")]


async def test_the_stirring_ramp_example_runs() -> None:
    """It should run the shipped ramp: +100 RPM every half hour while below 700, a pause on
    pio01 only, and everything stopped at the end."""
    text = resources.files("pioleader.profiles").joinpath("examples", "stirring_ramp.yaml")
    cluster = RecordingCluster(["pio01", "pio02"])
    logs = await run(text.read_text(), cluster)
    for unit in ("pio01", "pio02"):
        targets = [d for _, u, _, what, d in cluster.done if u == unit and what == "target_rpm"]
        assert targets == [500.0, 600.0, 700.0]
        stops = [(job, d) for _, u, job, what, d in cluster.done if u == unit and what == "$state"]
        expected = [("stirring", "disconnected"), ("od_reading", "disconnected")]
        if unit == "pio01":
            expected = [("stirring", "sleeping"), ("stirring", "ready"), *expected]
        assert sorted(stops) == sorted(expected)
    assert ("notice", "The ramp is over.") in logs
