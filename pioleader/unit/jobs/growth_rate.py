"""``growth_rate_calculating``: feed each OD snapshot to the growth-rate filter and publish
``growth_rate`` and ``od_filtered``. Dosing events tell the filter to expect a jump; OD blanks
(``od_blank/mean/<channel>``), when present before the warm-up ends, are subtracted first."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pioleader.clock import format_timestamp, parse_timestamp
from pioleader.unit.ekf import GrowthRateFilter
from pioleader.unit.jobs.base import BackgroundJob, JobRefused, Setting

SECTION = "growth_rate_calculating.config"


class GrowthRateCalculating(BackgroundJob):
    job_name = "growth_rate_calculating"
    help = "Estimate the culture's growth rate and filtered OD from OD readings (a Kalman filter)."
    published_settings: ClassVar[dict[str, Setting]] = {
        "growth_rate": Setting("json", unit="h⁻¹"),
        "od_filtered": Setting("json"),
    }

    async def on_init(self) -> None:
        try:
            rate = float(self.config_get("od_reading.config", "samples_per_second", "0.2"))
            self.filter = GrowthRateFilter(
                samples_for_od_statistics=int(
                    self.config_get(SECTION, "samples_for_od_statistics", "10")
                ),
                outlier_threshold=float(self.config_get(SECTION, "ekf_outlier_std_threshold", "5")),
                expected_dt_hours=1 / (3600 * rate),
                blanks={},
            )
        except ValueError as error:
            raise JobRefused(f"[{SECTION}]: {error}") from error
        self.blanks: dict[str, float] = {}
        await self.listen(self.experiment_topic("od_reading/ods"), self._on_ods)
        await self.listen(self.experiment_topic("dosing_events"), self._on_dosing)
        await self.listen(self.experiment_topic("od_blank/mean/+"), self._on_blank, retained=True)

    async def _on_blank(self, topic: str, payload: bytes) -> None:
        if self.filter.warmed_up or not payload:
            return
        body = json.loads(payload)
        self.blanks[str(body["channel"])] = float(body["od"])
        self.filter.blanks = dict(self.blanks)

    async def _on_dosing(self, topic: str, payload: bytes) -> None:
        self.filter.dosing_event()

    async def _on_ods(self, topic: str, payload: bytes) -> None:
        if self.state != "ready":
            return
        try:
            body: dict[str, Any] = json.loads(payload)
            at = parse_timestamp(body["timestamp"])
            ods = {str(ch): float(r["od"]) for ch, r in body["ods"].items()}
            estimate = self.filter.update(at, ods)
        except (ValueError, KeyError, TypeError) as error:
            await self.log("error", f"Skipped an OD reading: {error}")
            return
        if estimate is None:
            return
        if estimate.outlier:
            await self.log("debug", "Outlier OD reading: trusted less.")
        stamp = format_timestamp(at)
        await self.publish_setting(
            "growth_rate", {"growth_rate": round(estimate.growth_rate, 5), "timestamp": stamp}
        )
        await self.publish_setting(
            "od_filtered", {"od_filtered": round(estimate.od_filtered, 6), "timestamp": stamp}
        )
