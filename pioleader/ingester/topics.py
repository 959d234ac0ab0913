"""Which MQTT topics the ingester stores, and how each payload becomes a row (upstream §9).

Topics look like ``pioreactor/<unit>/<experiment>/<rest>``; the unit and experiment come from
the topic, the rest chooses a ``Route``: a table and a parser from the payload to that table's
row. Parsers are strict (a missing key, a string where a number belongs, a timestamp without a
time zone all raise ``BadPayload``) because a wrong row is worse than a skipped one: the caller
counts and logs the skip. Payload timestamps are stored as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` UTC;
topics whose payload has no timestamp get the time the message arrived, as upstream does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pioleader.clock import format_timestamp, parse_timestamp

Row = tuple[Any, ...]


class BadPayload(ValueError):
    """A payload that cannot become a row of its table."""


@dataclass(frozen=True)
class Table:
    """A table the ingester inserts into, with the columns a row fills, in order."""

    name: str
    columns: tuple[str, ...]

    @property
    def insert_sql(self) -> str:
        placeholders = ", ".join("?" for _ in self.columns)
        # Names come from the routing table below, never from a message.
        columns = ", ".join(self.columns)
        return f"INSERT INTO {self.name} ({columns}) VALUES ({placeholders})"  # noqa: S608


@dataclass(frozen=True)
class Message:
    """What a parser needs: where the message came from, its body and when it arrived."""

    unit: str
    experiment: str
    rest: str
    payload: bytes
    received_at: datetime


Parser = Callable[[Message], Row]


@dataclass(frozen=True)
class Route:
    table: Table
    parse: Parser


_SCOPED = ("experiment", "pioreactor_unit")


def _table(name: str, *columns: str) -> Table:
    return Table(name, (*_SCOPED, *columns))


# -- payload helpers -----------------------------------------------------------------------------


def _json_object(message: Message) -> dict[str, Any]:
    try:
        value = json.loads(message.payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadPayload(f"not JSON: {error}") from error
    if not isinstance(value, dict):
        raise BadPayload(f"expected a JSON object, got {type(value).__name__}")
    return value


def _field(body: dict[str, Any], key: str) -> Any:
    try:
        return body[key]
    except KeyError:
        raise BadPayload(f"missing {key!r}") from None


def _number(value: Any, what: str) -> float:
    # bool is an int in Python but never a reading; strings are refused as msgspec does upstream.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadPayload(f"{what} must be a number, got {value!r}")
    return float(value)


def _optional_number(value: Any, what: str) -> float | None:
    return None if value is None else _number(value, what)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BadPayload(f"{what} must be a string, got {value!r}")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _timestamp(value: Any, what: str = "timestamp") -> str:
    try:
        return format_timestamp(parse_timestamp(_text(value, what)))
    except ValueError as error:
        raise BadPayload(f"bad {what} {value!r}: {error}") from error


def _optional_timestamp(value: Any, what: str) -> str | None:
    return None if value is None else _timestamp(value, what)


def _od_channel(value: Any) -> int:
    channel = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.isdigit():
        channel = int(value)
    if channel not in (1, 2, 3, 4):
        raise BadPayload(f"channel must be 1..4, got {value!r}")
    return channel


def _angle(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise BadPayload(f"angle must be an integer, got {value!r}")


def _bare_number(message: Message) -> float:
    try:
        value = json.loads(message.payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadPayload(f"not a number: {error}") from error
    return _number(value, "value")


def _scope(message: Message) -> tuple[str, str]:
    return message.experiment, message.unit


def _now(message: Message) -> str:
    return format_timestamp(message.received_at)


# -- parsers, one per table ----------------------------------------------------------------------


def _od_reading(message: Message) -> Row:
    body = _json_object(message)
    return (
        *_scope(message),
        _timestamp(_field(body, "timestamp")),
        _number(_field(body, "od"), "od"),
        _angle(_field(body, "angle")),
        _od_channel(_field(body, "channel")),
    )


def _raw_od_reading(message: Message) -> Row:
    body = _json_object(message)
    return (
        *_scope(message),
        _timestamp(_field(body, "timestamp")),
        _number(_field(body, "od"), "od"),
        _od_channel(_field(body, "channel")),
    )


def _value_at(key: str) -> Parser:
    """A parser for ``{<key>: number, timestamp}`` payloads."""

    def parse(message: Message) -> Row:
        body = _json_object(message)
        return (
            *_scope(message),
            _timestamp(_field(body, "timestamp")),
            _number(_field(body, key), key),
        )

    return parse


def _dosing_event(message: Message) -> Row:
    body = _json_object(message)
    return (
        *_scope(message),
        _timestamp(_field(body, "timestamp")),
        _text(_field(body, "event"), "event"),
        _number(_field(body, "volume_change"), "volume_change"),
        _optional_text(body.get("source_of_event"), "source_of_event"),
    )


def _led_change_event(message: Message) -> Row:
    body = _json_object(message)
    channel = _text(_field(body, "channel"), "channel")
    if channel not in ("A", "B", "C", "D"):
        raise BadPayload(f"LED channel must be A..D, got {channel!r}")
    return (
        *_scope(message),
        _timestamp(_field(body, "timestamp")),
        channel,
        _number(_field(body, "intensity"), "intensity"),
        _optional_text(body.get("source_of_event"), "source_of_event"),
    )


def _received_number(message: Message) -> Row:
    """Bare numbers (``bioreactor/...``) carry no time: stamped with the arrival time."""
    return (*_scope(message), _now(message), _bare_number(message))


def _log(message: Message) -> Row:
    body = _json_object(message)
    # Matches upstream: the level is stored upper case whatever the publisher sent.
    return (
        *_scope(message),
        _timestamp(_field(body, "timestamp")),
        _text(_field(body, "message"), "message"),
        _text(body.get("source") or message.rest.split("/")[1], "source"),
        _text(_field(body, "level"), "level").upper(),
        _optional_text(body.get("task"), "task"),
    )


def _automation_settings(message: Message) -> Row:
    body = _json_object(message)
    # ``settings`` is bytes upstream, so it arrives base64-encoded and is stored as it came.
    return (
        *_scope(message),
        _timestamp(_field(body, "started_at"), "started_at"),
        _optional_timestamp(body.get("ended_at"), "ended_at"),
        _text(_field(body, "automation_name"), "automation_name"),
        _text(_field(body, "settings"), "settings"),
    )


def _automation_event(message: Message) -> Row:
    body = _json_object(message)
    data = body.get("data")
    return (
        *_scope(message),
        _now(message),
        _text(_field(body, "event_name"), "event_name"),
        _optional_text(body.get("message"), "message"),
        None if data is None else json.dumps(data),
    )


def _od_blank(message: Message) -> Row:
    body = _json_object(message)
    return (
        *_scope(message),
        _timestamp(_field(body, "timestamp")),
        str(_od_channel(_field(body, "channel"))),
        _angle(_field(body, "angle")),
        _number(_field(body, "od"), "od"),
    )


# Matches upstream: the PWM channel → GPIO pin map of the default hardware model.
PWM_PINS = ("17", "13", "16", "12", "18")


def _pwm_dcs(message: Message) -> Row:
    body = _json_object(message)
    unknown = set(body) - set(PWM_PINS)
    if unknown:
        raise BadPayload(f"unknown PWM pins {sorted(unknown)}")
    return (
        *_scope(message),
        _now(message),
        *(_optional_number(body.get(pin), f"pin {pin}") for pin in PWM_PINS),
    )


def _profile_run(message: Message) -> Row:
    try:
        name = message.payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadPayload(f"profile name is not UTF-8: {error}") from error
    return (_now(message), name, message.experiment)


def _scalar(value: Any, what: str) -> Any:
    if value is None or isinstance(value, str | int | float):
        return value
    raise BadPayload(f"{what} must be a number, a string or null, got {type(value).__name__}")


RECEIVED_AT = "$received_at"


def declared_route(
    table: str, columns: dict[str, str], timestamp_columns: frozenset[str] = frozenset()
) -> Route:
    """The route of a plugin's declared topic: each column takes the payload key it names
    (``$received_at`` for the arrival time); ``timestamp_columns`` are normalised timestamps,
    the others must be scalars. Names must be checked against the database by the caller."""
    keys = tuple(columns.items())

    def parse(message: Message) -> Row:
        body = _json_object(message)
        values = []
        for column, key in keys:
            if key == RECEIVED_AT:
                values.append(_now(message))
            elif column in timestamp_columns:
                values.append(_timestamp(_field(body, key), key))
            else:
                values.append(_scalar(_field(body, key), key))
        return (*_scope(message), *values)

    return Route(_table(table, *columns), parse)


# -- the routing table -------------------------------------------------------------------------

OD_READINGS = _table("od_readings", "timestamp", "od_reading", "angle", "channel")
RAW_OD_READINGS = _table("raw_od_readings", "timestamp", "od_reading", "channel")
_EVENTS = ("timestamp", "event_name", "message", "data")
_SETTINGS = ("started_at", "ended_at", "automation_name", "settings")

EXACT: dict[str, Route] = {
    **{f"od_reading/od{ch}": Route(OD_READINGS, _od_reading) for ch in "1234"},
    **{f"od_reading/raw_od{ch}": Route(RAW_OD_READINGS, _raw_od_reading) for ch in "1234"},
    "od_reading/od_fused": Route(
        _table("od_readings_fused", "timestamp", "od_reading"), _value_at("od_fused")
    ),
    "growth_rate_calculating/od_filtered": Route(
        _table("od_readings_filtered", "timestamp", "normalized_od_reading"),
        _value_at("od_filtered"),
    ),
    "growth_rate_calculating/growth_rate": Route(
        _table("growth_rates", "timestamp", "rate"), _value_at("growth_rate")
    ),
    "temperature_automation/temperature": Route(
        _table("temperature_readings", "timestamp", "temperature_c"), _value_at("temperature")
    ),
    "stirring/measured_rpm": Route(
        _table("stirring_rates", "timestamp", "measured_rpm"), _value_at("measured_rpm")
    ),
    "dosing_events": Route(
        _table("dosing_events", "timestamp", "event", "volume_change_ml", "source_of_event"),
        _dosing_event,
    ),
    "led_change_events": Route(
        _table("led_change_events", "timestamp", "channel", "intensity", "source_of_event"),
        _led_change_event,
    ),
    "bioreactor/alt_media_fraction": Route(
        _table("alt_media_fractions", "timestamp", "alt_media_fraction"), _received_number
    ),
    "bioreactor/current_volume_ml": Route(
        _table("liquid_volumes", "timestamp", "liquid_volume"), _received_number
    ),
    "od_reading/relative_intensity_of_ir_led": Route(
        _table("ir_led_intensities", "timestamp", "relative_intensity"),
        _value_at("relative_intensity_of_ir_led"),
    ),
    "pwms/dc": Route(
        _table("pwm_dcs", "timestamp", *(f"channel_{n}" for n in range(1, 6))), _pwm_dcs
    ),
    **{
        f"{kind}_automation/{kind}_automation_settings": Route(
            _table(f"{kind}_automation_settings", *_SETTINGS), _automation_settings
        )
        for kind in ("dosing", "led", "temperature")
    },
    **{
        f"{kind}_automation/latest_event": Route(
            _table(f"{kind}_automation_events", *_EVENTS), _automation_event
        )
        for kind in ("dosing", "led", "temperature")
    },
}

LOGS = Route(
    _table("logs", "timestamp", "message", "source", "level", "task"),
    _log,
)
OD_BLANKS = Route(_table("od_blanks", "timestamp", "channel", "angle", "od_reading"), _od_blank)
PROFILE_RUNS = Route(
    Table("experiment_profile_runs", ("started_at", "experiment_profile_name", "experiment")),
    _profile_run,
)

# What the ingester subscribes to: every exact topic, plus the three wildcard families.
SUBSCRIPTIONS: tuple[str, ...] = (
    *(f"pioreactor/+/+/{rest}" for rest in EXACT),
    "pioreactor/+/+/logs/#",
    "pioreactor/+/+/od_blank/mean/+",
    "pioreactor/+/+/experiment_profile/+/experiment_profile_name",
)

TABLES: tuple[Table, ...] = tuple(
    {
        route.table.name: route.table for route in (*EXACT.values(), LOGS, OD_BLANKS, PROFILE_RUNS)
    }.values()
)


def route(rest: str) -> Route | None:
    """The route of a topic's part after ``pioreactor/<unit>/<experiment>/``, if stored."""
    found = EXACT.get(rest)
    if found is not None:
        return found
    parts = rest.split("/")
    if parts[0] == "logs" and len(parts) >= 2:
        return LOGS
    if len(parts) == 3 and parts[:2] == ["od_blank", "mean"]:
        return OD_BLANKS
    if (
        len(parts) == 3
        and parts[0] == "experiment_profile"
        and parts[2] == ("experiment_profile_name")
    ):
        return PROFILE_RUNS
    return None


def split_topic(topic: str) -> tuple[str, str, str] | None:
    """``(unit, experiment, rest)`` of a ``pioreactor/...`` topic, or None for anything else."""
    parts = topic.split("/", 3)
    if len(parts) != 4 or parts[0] != "pioreactor":
        return None
    return parts[1], parts[2], parts[3]
