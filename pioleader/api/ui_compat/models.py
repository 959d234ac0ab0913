"""The compatibility routes answer the models of the routes they stand for; only the text
answers are described here."""

from __future__ import annotations

from typing import Any

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
