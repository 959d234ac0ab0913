"""Topics that plugins installed on the leader ask the ingester to store.

A plugin declares them in YAML files: ``ingester_topics/*.yaml`` inside a pip-installed plugin
package (``<data dir>/plugins_site/<package>/``) or ``<data dir>/plugins/ingester_topics/``.
A file holds one declaration or a list of them::

    topic: my_job/reading            # after pioreactor/<unit>/<experiment>/
    table: my_readings               # an existing table with experiment, pioreactor_unit
    columns:                         # column: payload key ($received_at: arrival time)
      timestamp: timestamp
      reading: value
    timestamp_columns: [timestamp]   # normalised to UTC; the others must be scalars

Declarations are read once, when the ingester starts. One that is malformed, names a topic the
ingester already stores, or a table or column the database lacks is logged and skipped; the
others still load.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from pioleader.db import Database
from pioleader.ingester.topics import RECEIVED_AT, Route, declared_route, route

logger = logging.getLogger("pioleader.ingester")

FOLDER = "ingester_topics"
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
# Exact topics only: no MQTT wildcards, no empty levels.
TopicRest = Annotated[str, Field(pattern=r"^[A-Za-z0-9_$.-]+(?:/[A-Za-z0-9_$.-]+)*$")]
SCOPE_COLUMNS = ("experiment", "pioreactor_unit")


class TopicDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: TopicRest
    table: Identifier
    columns: dict[Identifier, str] = Field(min_length=1)
    timestamp_columns: list[Identifier] = Field(default_factory=list)


_DECLARATIONS = TypeAdapter(TopicDeclaration | list[TopicDeclaration])


def declaration_files(data_dir: Path) -> list[Path]:
    """Every declaration file, the plugins folder's first, then each package's by name."""
    folders = [
        data_dir / "plugins" / FOLDER,
        *sorted((data_dir / "plugins_site").glob(f"*/{FOLDER}")),
    ]
    return [path for folder in folders if folder.is_dir() for path in sorted(folder.glob("*.y*ml"))]


def read_declarations(files: list[Path]) -> list[tuple[str, TopicDeclaration]]:
    """``(origin, declaration)`` of every valid declaration in ``files`` (blocking)."""
    found: list[tuple[str, TopicDeclaration]] = []
    for path in files:
        try:
            parsed = _DECLARATIONS.validate_python(yaml.safe_load(path.read_text("utf-8")))
        except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError) as error:
            logger.error("skipping ingester topics %s: %s", path, error)
            continue
        declarations = parsed if isinstance(parsed, list) else [parsed]
        found += [(str(path), declaration) for declaration in declarations]
    return found


def _problem(declaration: TopicDeclaration, tables: Mapping[str, set[str]]) -> str | None:
    columns = tables.get(declaration.table)
    if columns is None:
        return f"table {declaration.table!r} does not exist"
    wanted = [*SCOPE_COLUMNS, *declaration.columns]
    missing = [name for name in wanted if name not in columns]
    if missing:
        return f"table {declaration.table!r} has no column {missing[0]!r}"
    scoped = set(SCOPE_COLUMNS) & set(declaration.columns)
    if scoped:
        return f"column {sorted(scoped)[0]!r} is filled from the topic; remove it from columns"
    stray = set(declaration.timestamp_columns) - set(declaration.columns)
    if stray:
        return f"timestamp_columns {sorted(stray)[0]!r} is not one of the columns"
    clock = [c for c in declaration.timestamp_columns if declaration.columns[c] == RECEIVED_AT]
    if clock:
        return f"timestamp_columns {clock[0]!r} takes {RECEIVED_AT}, already a timestamp"
    return None


def routes_for(
    declarations: list[tuple[str, TopicDeclaration]], tables: Mapping[str, set[str]]
) -> dict[str, Route]:
    """The routes of the declarations that fit the database (``tables``: table → columns);
    the first declaration of a topic wins, built-in topics cannot be taken."""
    routes: dict[str, Route] = {}
    for origin, declaration in declarations:
        topic = declaration.topic
        if route(topic) is not None:
            problem: str | None = f"topic {topic!r} is already stored by the ingester"
        elif topic in routes:
            problem = f"topic {topic!r} is declared twice"
        else:
            problem = _problem(declaration, tables)
        if problem is not None:
            logger.error("skipping ingester topic %s from %s: %s", topic, origin, problem)
            continue
        routes[topic] = declared_route(
            declaration.table, declaration.columns, frozenset(declaration.timestamp_columns)
        )
        logger.info("storing %s in %s (declared in %s)", topic, declaration.table, origin)
    return routes


def _tables(connection: sqlite3.Connection) -> dict[str, set[str]]:
    names = [
        row["name"]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        name: {
            row["name"]
            for row in connection.execute("SELECT name FROM pragma_table_info(?)", (name,))
        }
        for name in names
    }


async def load_plugin_routes(database: Database, data_dir: Path) -> dict[str, Route]:
    """Read the declarations of ``data_dir``'s plugins and keep those the database fits."""
    declarations = await asyncio.to_thread(lambda: read_declarations(declaration_files(data_dir)))
    if not declarations:
        return {}
    tables = await database.read(_tables)
    return routes_for(declarations, tables)
