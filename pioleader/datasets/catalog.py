"""Dataset definitions: the built-in YAML files, then ``<data dir>/exportable_datasets/``,
``<data dir>/plugins/exportable_datasets/``, and the ``exportable_datasets/`` folder of each
pip-installed plugin package (``<data dir>/plugins_site/<package>/``); later definitions of a
name replace earlier ones. An invalid file is skipped and logged, never fatal."""

from __future__ import annotations

import asyncio
import logging
import re
from importlib import resources
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

logger = logging.getLogger("pioleader.datasets")

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


class DatasetDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_name: Identifier
    display_name: str
    description: str
    table: Identifier | None = None
    query: str | None = Field(default=None, description="A read-only SELECT, instead of a table.")
    has_experiment: bool
    has_unit: bool
    default_order_by: Identifier | None = None
    timestamp_columns: list[Identifier] = Field(default_factory=list)
    always_partition_by_unit: bool = False
    source: str = "app"

    @model_validator(mode="after")
    def _table_or_query(self) -> DatasetDefinition:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of 'table' and 'query'")
        if self.query is not None and not re.match(r"^\s*(SELECT|WITH)\b", self.query, re.I):
            raise ValueError("'query' must be a SELECT")
        return self

    @property
    def source_sql(self) -> str:
        """What to select from: the table, or the query as a subquery."""
        return f'"{self.table}"' if self.table else f"({self.query})"


def _parse(text: str, origin: str) -> DatasetDefinition | None:
    try:
        return DatasetDefinition.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError, TypeError) as error:
        logger.error("skipping dataset definition %s: %s", origin, error)
        return None


class DatasetCatalog:
    def __init__(self, data_dir: Path) -> None:
        self._folders = (
            data_dir / "exportable_datasets",
            data_dir / "plugins" / "exportable_datasets",
        )
        self._plugin_packages = data_dir / "plugins_site"

    async def all(self) -> list[DatasetDefinition]:
        return await asyncio.to_thread(self._load)

    async def find(self, name: str) -> DatasetDefinition | None:
        return next((d for d in await self.all() if d.dataset_name == name), None)

    def _load(self) -> list[DatasetDefinition]:
        found: dict[str, DatasetDefinition] = {}
        builtin = resources.files("pioleader.datasets").joinpath("definitions")
        sources: list[tuple[str, str]] = [
            (entry.name, entry.read_text(encoding="utf-8"))
            for entry in sorted(builtin.iterdir(), key=lambda e: e.name)
            if entry.name.endswith((".yaml", ".yml"))
        ]
        packages = sorted(self._plugin_packages.glob("*/exportable_datasets"))
        for folder in (*self._folders, *packages):
            if folder.is_dir():
                sources += [
                    (str(path), path.read_text(encoding="utf-8"))
                    for path in sorted(folder.glob("*.y*ml"))
                ]
        for origin, text in sources:
            definition = _parse(text, origin)
            if definition is not None:
                found[definition.dataset_name] = definition
        return list(found.values())
