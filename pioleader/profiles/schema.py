"""The structure of an experiment profile, as upstream Pioreactor documents it.

```yaml
experiment_profile_name: demo
metadata: {author: ..., description: ...}
inputs: {target: 1.5}              # names usable in expressions
common:                            # every worker assigned to the experiment
  jobs:
    stirring:
      actions:
        - {type: start, t: 0, options: {target_rpm: 400}}
        - {type: update, t: 30m, options: {target_rpm: 500}}
        - {type: stop, t: 2h}
pioreactors:                       # one worker each (by name, or by an alias)
  pio01: {label: control, jobs: {...}}
aliases: {pio02: treated}          # optional: then `treated:` under pioreactors means pio02
```

Action types: start, stop, pause, resume, update, log, and the containers ``repeat`` (``every``,
optional ``while`` and ``max_time``, nested ``actions`` timed from each iteration's start) and
``when`` (``wait_until``, nested ``actions`` timed from when it became true). Any action may
have an ``if``. Times are hours as a number, or a string with a unit (``30s``, ``5m``, ``2h``,
``1d``); ``hours_elapsed`` (a number of hours) is the older spelling of ``t``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Scalar = str | int | float | bool | None
ActionType = Literal["start", "stop", "pause", "resume", "update", "log", "repeat", "when"]
BASIC_TYPES = ("start", "stop", "pause", "resume", "update", "log")
_DURATION = re.compile(r"^\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>s|m|h|d)?\s*$")
_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _empty_if_none(default: Any) -> BeforeValidator:
    """YAML writes an empty block (``common:``) as null; read it as an empty one."""
    return BeforeValidator(lambda value: default() if value is None else value)


def parse_duration(value: object) -> float:
    """Seconds of a profile time: a number of hours, or ``<number><s|m|h|d>``; ValueError
    when it is neither, or negative."""
    if isinstance(value, bool):
        raise ValueError("is a boolean, not a time")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("is negative")
        return float(value) * 3600.0
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match["number"]) * _SECONDS[match["unit"] or "h"]
        if value.strip().startswith("-"):
            raise ValueError("is negative")
    raise ValueError(f"{value!r} is not a time such as 0, 1.5 (hours), 30s, 5m, 2h or 1d")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Action(_Strict):
    type: ActionType
    t: float | str | None = None
    hours_elapsed: float | None = None
    if_: bool | str | None = Field(default=None, alias="if")
    options: Annotated[dict[str, Any], _empty_if_none(dict)] = Field(default_factory=dict)
    args: Annotated[list[str], _empty_if_none(list)] = Field(default_factory=list)
    config_overrides: Annotated[dict[str, Scalar], _empty_if_none(dict)] = Field(
        default_factory=dict
    )
    every: float | str | None = None
    while_: bool | str | None = Field(default=None, alias="while")
    max_time: float | str | None = None
    wait_until: bool | str | None = None
    actions: Annotated[list[Action], _empty_if_none(list)] = Field(default_factory=list)

    def seconds(self) -> float:
        """When the action is due, in seconds from its reference time (checked already)."""
        return parse_duration(self.t if self.t is not None else self.hours_elapsed or 0)


class Job(_Strict):
    description: str | None = None
    actions: Annotated[list[Action], _empty_if_none(list)] = Field(default_factory=list)


Jobs = Annotated[dict[str, Job], _empty_if_none(dict)]


class Common(_Strict):
    jobs: Jobs = Field(default_factory=dict)


class UnitProfile(_Strict):
    label: str | None = None
    jobs: Jobs = Field(default_factory=dict)


class Metadata(_Strict):
    author: str | None = None
    description: str | None = None


class Plugin(_Strict):
    name: str
    version: str | None = None
    min_version: str | None = None


class Profile(_Strict):
    experiment_profile_name: str
    metadata: Annotated[Metadata, _empty_if_none(Metadata)] = Field(default_factory=Metadata)
    plugins: Annotated[list[Plugin], _empty_if_none(list)] = Field(default_factory=list)
    inputs: Annotated[dict[str, Scalar], _empty_if_none(dict)] = Field(default_factory=dict)
    # unit → another name for it, usable as a key of ``pioreactors``.
    aliases: Annotated[dict[str, str], _empty_if_none(dict)] = Field(default_factory=dict)
    common: Annotated[Common, _empty_if_none(Common)] = Field(default_factory=Common)
    pioreactors: Annotated[dict[str, UnitProfile], _empty_if_none(dict)] = Field(
        default_factory=dict
    )
    version: int | str | None = None

    def unit_of(self, name: str) -> str:
        """The unit a key of ``pioreactors`` names (an alias or the unit itself)."""
        return next((unit for unit, alias in self.aliases.items() if alias == name), name)
