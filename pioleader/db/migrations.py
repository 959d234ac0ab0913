"""Versioned schema migrations, tracked with ``PRAGMA user_version``.

Migration ``N`` is the file ``migrations/NNNN_<name>.sql``; it runs once, in one transaction,
and leaves ``user_version = N``. A database newer than the code refuses to open rather than be
written by a version that does not know its schema.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(package: str, folder: str) -> tuple[Migration, ...]:
    """Read every ``NNNN_name.sql`` file of a package folder, in version order."""
    found: list[Migration] = []
    for entry in resources.files(package).joinpath(folder).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(
                Migration(int(match["version"]), match["name"], entry.read_text(encoding="utf-8"))
            )
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations in {package}/{folder} are not numbered 1..N: {versions}")
    return tuple(found)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer pioleader."""


def _user_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()["user_version"])


def apply_migrations(connection: sqlite3.Connection, migrations: Sequence[Migration]) -> int:
    """Apply the migrations the database lacks; return the resulting version."""
    current = _user_version(connection)
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise SchemaTooNew(
            f"database schema version {current} is newer than this pioleader knows ({latest})"
        )
    for migration in migrations:
        if migration.version <= current:
            continue
        try:
            connection.executescript(
                f"BEGIN IMMEDIATE;\n{migration.sql}\n;PRAGMA user_version = {migration.version};"
                "\nCOMMIT;"
            )
        except sqlite3.Error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            # The leader and the ingester open the same file at start-up: when the other one
            # applied this migration while we waited for the write lock, ours fails harmlessly.
            if _user_version(connection) >= migration.version:
                current = _user_version(connection)
                continue
            raise
        current = migration.version
    return current


def app_migrations() -> tuple[Migration, ...]:
    """The application database's migrations (the Pioreactor-compatible schema)."""
    return load_migrations("pioleader.db", "migrations")
