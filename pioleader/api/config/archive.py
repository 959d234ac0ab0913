"""The cluster's configuration files as one zip (``GET /api/config/zipped``)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime

from pioleader.clock import format_timestamp


def zip_configs(
    shared: str, unit_texts: dict[str, str], errors: dict[str, str], now: datetime
) -> bytes:
    """``config.ini``, ``config_<unit>.ini`` for each unit (its own settings, as upstream names
    them on the leader), and ``metadata.json`` (when, which units, which did not answer)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.ini", shared)
        for unit, text in sorted(unit_texts.items()):
            archive.writestr(f"config_{unit}.ini", text)
        metadata = {
            "created_at": format_timestamp(now),
            "units": sorted(unit_texts),
            "errors": dict(sorted(errors.items())),
        }
        archive.writestr("metadata.json", json.dumps(metadata, indent=2))
    return buffer.getvalue()
