"""Checking configuration text before it is written (behaviour §7).

Every problem names the line it is on and says how to fix it. The messages of ``error`` are
upstream's, so a client that matches on them keeps working; ``cause`` is ours and precise.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass

from pioleader.configuration.files import new_parser, parse_unit_address

_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-"})
# What a shared config.ini cannot do without: where the leader is, and the broker section.
REQUIRED_KEYS = (("cluster.topology", "leader_hostname"), ("cluster.topology", "leader_address"))
REQUIRED_SECTIONS = ("mqtt",)
_ADDRESS_KEYS = (("cluster.topology", "leader_address"), ("mqtt", "broker_address"))


@dataclass
class ConfigInvalid(Exception):
    """The text is not a configuration we accept; the three fields of the error body."""

    error: str
    cause: str
    remediation: str

    def __str__(self) -> str:
        return f"{self.error} {self.cause}"


def normalise(text: str) -> str:
    """Replace en and em dashes (word processors put them in) with ``-``, as upstream does."""
    return text.translate(_DASHES)


def _parse(text: str, name: str) -> configparser.ConfigParser:
    parser = new_parser(strict=True)
    try:
        parser.read_string(text, source=name)
    except configparser.DuplicateSectionError as exc:
        raise ConfigInvalid(
            f"Duplicate section [{exc.section}] was found. Please fix and try again.",
            f"{name} line {exc.lineno}: section [{exc.section}] appears a second time.",
            f"Merge the options of both [{exc.section}] sections into one and remove the other.",
        ) from exc
    except configparser.DuplicateOptionError as exc:
        raise ConfigInvalid(
            f"Duplicate option, `{exc.option}`, was found in section [{exc.section}]. "
            "Please fix and try again.",
            f"{name} line {exc.lineno}: `{exc.option}` is set a second time in [{exc.section}].",
            f"Keep one `{exc.option}=` line in [{exc.section}] and delete the other.",
        ) from exc
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigInvalid(
            "Incorrect syntax. Please fix and try again.",
            f"{name} line {exc.lineno}: {exc.line.strip()!r} comes before any [section].",
            "Start the file with a section header such as [stirring.config], or comment the "
            "line out with #.",
        ) from exc
    except configparser.ParsingError as exc:
        lineno = exc.errors[0][0]
        line = text.splitlines()[lineno - 1] if 0 < lineno <= len(text.splitlines()) else ""
        raise ConfigInvalid(
            "Incorrect syntax. Please fix and try again.",
            f"{name} line {lineno}: {line.strip()!r} is neither a [section], a key=value "
            "option nor a comment.",
            "Write options as key=value, sections as [name], comments starting with # or ;.",
        ) from exc
    except configparser.Error as exc:
        raise ConfigInvalid(
            "Incorrect syntax. Please fix and try again.",
            f"{name}: {exc.message}",
            "Write options as key=value, sections as [name], comments starting with # or ;.",
        ) from exc
    return parser


def line_of(text: str, section: str, key: str | None = None) -> int | None:
    """The 1-based line of ``[section]`` (or of ``key`` within it), if present."""
    current = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            if key is None and current == section:
                return number
        elif key is not None and current == section and not line.startswith(("#", ";")):
            name = line.replace(":", "=", 1).split("=", 1)[0].strip()
            if name == key:
                return number
    return None


def _where(name: str, text: str, section: str, key: str | None = None) -> str:
    number = line_of(text, section, key)
    return f"{name} line {number}" if number else name


def _check_required(parser: configparser.ConfigParser, name: str) -> None:
    missing = [
        f"[{section}] {key}"
        for section, key in REQUIRED_KEYS
        if not parser.get(section, key, fallback="").strip()
    ]
    missing += [f"[{section}]" for section in REQUIRED_SECTIONS if not parser.has_section(section)]
    if missing:
        raise ConfigInvalid(
            f"Missing required field(s): {', '.join(missing)}.",
            f"{name} must set {', '.join(missing)}: every unit finds the leader and the broker "
            "through them.",
            "Add them back, e.g. [cluster.topology] leader_hostname=leader, "
            "leader_address=<address>, and an [mqtt] section.",
        )


def _check_addresses(parser: configparser.ConfigParser, text: str, name: str) -> None:
    for section, key in _ADDRESS_KEYS:
        value = parser.get(section, key, fallback="").strip()
        if value.lower().startswith(("http://", "https://")):
            raise ConfigInvalid(
                "Don't start addresses with http:// or https://",
                f"{_where(name, text, section, key)}: [{section}] {key}={value}.",
                f"Write only the host name or IP address, e.g. {key}="
                f"{value.split('://', 1)[1].rstrip('/')}.",
            )
    if not parser.has_section("cluster.addresses"):
        return
    for unit, value in parser.items("cluster.addresses"):
        problem = _address_problem(value)
        if problem:
            raise ConfigInvalid(
                "Invalid unit address.",
                f"{_where(name, text, 'cluster.addresses', unit)}: {unit}={value} {problem}.",
                "Write <unit>=<host>[:<port>], e.g. pio01=192.168.1.20:4999, with a port "
                "from 1 to 65535 and no http://.",
            )


def _address_problem(value: str) -> str | None:
    text = value.strip()
    if not text:
        return "has no address"
    if "://" in text:
        return "must not have a scheme (http://)"
    try:
        address = parse_unit_address(text)
    except ValueError:
        return "has a port that is not a number"
    if not address.host or any(c.isspace() for c in address.host):
        return "has no valid host"
    if address.port is not None and not 0 < address.port < 65536:
        return "has a port outside 1..65535"
    return None


def check_shared(text: str, name: str = "config.ini") -> configparser.ConfigParser:
    """Parse a shared ``config.ini`` strictly; raise ``ConfigInvalid`` on the first problem."""
    parser = _parse(text, name)
    _check_required(parser, name)
    _check_addresses(parser, text, name)
    return parser


def check_unit(text: str, shared_text: str, name: str = "unit_config.ini") -> None:
    """Parse a unit's ``unit_config.ini`` strictly, and check that it merges with the shared
    file into a configuration that still finds the leader and the broker."""
    _parse(text, name)
    merged = new_parser()
    merged.read_string(shared_text)
    merged.read_string(text)
    _check_addresses(merged, text, name)
