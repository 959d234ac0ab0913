"""Name rules shared by several resources, as ``Annotated`` string types.

Rules follow upstream (behaviour §3.1, §3.2) and add what upstream forgot: no control
characters, no blank names.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

BROADCAST = "$broadcast"
_EXPERIMENT_FORBIDDEN = set("#$%+/\\")
# Names that GET /api/experiments/{experiment} could never reach: fixed routes answer first.
_ROUTE_WORDS = {"latest", "active", "assignment_count"}
# Likewise for /api/workers/{unit}: GET/DELETE /api/workers/assignments would answer instead
# (and DELETE would unassign every worker); GET /api/workers/discover is a seed endpoint.
_UNIT_ROUTE_WORDS = {"assignments", "discover"}
_UNIT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
# C0 controls, DEL and C1 controls (Unicode category Cc).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_experiment_name(name: str) -> str:
    """Upstream's rules for a new experiment's name; raises ValueError with the reason."""
    if not name.strip():
        raise ValueError("must not be empty or blank")
    if len(name) >= 200:
        raise ValueError("must be shorter than 200 characters")
    if name.lower() == "current":
        raise ValueError("'current' is reserved (it means the latest experiment)")
    if name in _ROUTE_WORDS:
        raise ValueError(f"{name!r} is reserved: /api/experiments/{name} is another endpoint")
    if name.startswith("_testing"):
        raise ValueError("names starting with '_testing' are reserved for tests")
    bad = sorted(_EXPERIMENT_FORBIDDEN.intersection(name))
    if bad:
        raise ValueError(f"must not contain {' '.join(bad)}")
    if _CONTROL.search(name):
        raise ValueError("must not contain control characters")
    return name


def check_unit_name(name: str) -> str:
    """A worker's name: letters, digits, '_' and '-'; not an address or a route word."""
    if not _UNIT_NAME.match(name):
        raise ValueError("may contain only letters, digits, '_' and '-'")
    if name == "localhost":
        raise ValueError("'localhost' is an address, not a worker name")
    if name in _UNIT_ROUTE_WORDS:
        raise ValueError(f"{name!r} is reserved: /api/workers/{name} is another endpoint")
    if re.fullmatch(r"[0-9]+", name):
        raise ValueError("must not be a number")
    return name


NewExperimentName = Annotated[
    str,
    Field(description="Experiment name: not blank, under 200 characters, none of # $ % + / \\."),
    AfterValidator(check_experiment_name),
]
WorkerName = Annotated[
    str,
    Field(description="Worker hostname: letters, digits, '_' and '-'.", max_length=63),
    AfterValidator(check_unit_name),
]
