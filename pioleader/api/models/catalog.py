"""The Pioreactor models a worker can be: seven built in, plus contributed YAML files.

Figures of the built-in models are Pioreactor's. The XR variants' figures were not available to
us; they are taken as those of the same-size v1.5 model. A YAML file in ``<data dir>/models``
with the same (model_name, model_version) overrides a built-in one.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

logger = logging.getLogger("pioleader.models")


class PioreactorModel(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_name: str
    model_version: str
    display_name: str
    reactor_capacity_ml: float
    reactor_diameter_mm: float
    reactor_max_fill_volume_ml: float
    max_temp_to_reduce_heating: float
    max_temp_to_disable_heating: float
    max_temp_to_shutdown: float
    is_legacy: bool = False
    is_contrib: bool = False


def _model(
    name: str,
    version: str,
    display: str,
    *,
    capacity: float,
    max_fill: float,
    temps: tuple[float, float, float] = (78.0, 80.0, 85.0),
    legacy: bool = False,
) -> PioreactorModel:
    return PioreactorModel(
        model_name=name,
        model_version=version,
        display_name=display,
        reactor_capacity_ml=capacity,
        reactor_diameter_mm=27.0,
        reactor_max_fill_volume_ml=max_fill,
        max_temp_to_reduce_heating=temps[0],
        max_temp_to_disable_heating=temps[1],
        max_temp_to_shutdown=temps[2],
        is_legacy=legacy,
    )


BUILT_IN_MODELS: tuple[PioreactorModel, ...] = (
    _model("pioreactor_40ml", "1.5", "Pioreactor 40ml, v1.5", capacity=40.0, max_fill=36.0),
    _model(
        "pioreactor_40ml", "1.0", "Pioreactor 40ml, v1.0", capacity=40.0, max_fill=36.0, legacy=True
    ),
    _model("pioreactor_20ml", "1.5", "Pioreactor 20ml, v1.5", capacity=20.0, max_fill=18.0),
    _model(
        "pioreactor_20ml", "1.1", "Pioreactor 20ml, v1.1", capacity=20.0, max_fill=18.0, legacy=True
    ),
    _model(
        "pioreactor_20ml",
        "1.0",
        "Pioreactor 20ml, v1.0",
        capacity=20.0,
        max_fill=18.0,
        temps=(63.0, 65.0, 66.0),
        legacy=True,
    ),
    _model("pioreactor_20ml_XR", "1.5", "Pioreactor 20ml XR, v1.5", capacity=20.0, max_fill=18.0),
    _model("pioreactor_40ml_XR", "1.5", "Pioreactor 40ml XR, v1.5", capacity=40.0, max_fill=36.0),
)


class ModelCatalog:
    def __init__(self, contrib_dir: Path) -> None:
        self._contrib_dir = contrib_dir

    async def all(self) -> list[PioreactorModel]:
        contributed = await asyncio.to_thread(self._load_contributed)
        merged = {(m.model_name, m.model_version): m for m in BUILT_IN_MODELS}
        merged.update({(m.model_name, m.model_version): m for m in contributed})
        return list(merged.values())

    async def find(self, name: str, version: str) -> PioreactorModel | None:
        for model in await self.all():
            if (model.model_name, model.model_version) == (name, version):
                return model
        return None

    def _load_contributed(self) -> list[PioreactorModel]:
        if not self._contrib_dir.is_dir():
            return []
        found: list[PioreactorModel] = []
        for path in sorted(self._contrib_dir.glob("*.y*ml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
                found.append(PioreactorModel.model_validate({**data, "is_contrib": True}))
            except (OSError, yaml.YAMLError, ValidationError, TypeError) as error:
                logger.error("skipping model definition %s: %s", path, error)
        return found
