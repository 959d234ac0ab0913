"""The compatibility routes answer the models of the routes they stand for; only the text
answers and the config editor's body are described here."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pioleader.errors import error_responses


def text_responses(description: str, **schema: Any) -> dict[int | str, dict[str, Any]]:
    """A plain-text 200 and the usual errors, for OpenAPI."""
    return {
        200: {
            "description": description,
            "content": {"text/plain": {"schema": {"type": "string", **schema}}},
        },
        **error_responses(),
    }


class ConfigFileCode(BaseModel):
    """The config editor's body: the file's whole text, and its name again (ignored: the
    path names the file)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    code: str = Field(max_length=1_000_000, description="INI text of the whole file.")
    filename: str | None = Field(default=None, max_length=80, description="Ignored.")
