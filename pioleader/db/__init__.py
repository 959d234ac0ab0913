"""SQLite access: one writer thread, a pool of read-only readers, versioned migrations."""

from pioleader.db.database import Database, Row
from pioleader.db.migrations import Migration, app_migrations, load_migrations

__all__ = ["Database", "Migration", "Row", "app_migrations", "load_migrations"]
