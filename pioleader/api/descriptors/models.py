"""The shapes of the descriptor files, as served (missing keys get their defaults)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

FieldType = Literal["numeric", "boolean", "string", "json"]


class _Descriptor(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SettingDescriptor(_Descriptor):
    key: str
    type: FieldType
    display: bool = True
    description: str | None = None
    default: Any = None
    unit: str | None = None
    label: str
    editable: bool = False
    min: float | None = None
    max: float | None = None


class JobDescriptor(_Descriptor):
    display_name: str
    job_name: str
    display: bool = True
    published_settings: list[SettingDescriptor] = []
    source: str | None = "app"
    description: str | None = None
    subtext: str | None = None
    is_testing: bool = False


class FieldDescriptor(_Descriptor):
    key: str
    default: Any = None
    label: str
    disabled: bool = False
    required: bool = True
    unit: str | None = None
    type: FieldType
    options: list[str] | None = None


class AutomationDescriptor(_Descriptor):
    display_name: str
    automation_name: str
    description: str | None = None
    source: str | None = None
    fields: list[FieldDescriptor] = []


class SettingsDescriptor(_Descriptor):
    key: str
    display_name: str
    display: bool = True
    published_settings: list[SettingDescriptor] = []
    source: str | None = "app"
    description: str | None = None
    subtext: str | None = None


class ChartDescriptor(_Descriptor):
    chart_key: str
    data_source: str
    title: str
    source: str | None = "app"
    y_axis_label: str
    fixed_decimals: int = 2
    down_sample: bool = True
    mqtt_topic: str
    lookback: int = 100000
    data_source_column: str | None = None
    payload_key: str | None = None
    y_transformation: str = "(y) => y"
    y_axis_domain: list[float] | None = None
    interpolation: str = "linear"
