"""The shapes of the async task protocol (behaviour §5)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

TaskState = Literal["pending", "running", "succeeded", "failed"]


def result_url_path(task_id: str) -> str:
    return f"/unit_api/task_results/{task_id}"


class TaskAccepted(BaseModel):
    """The 202 answer of an endpoint that started a background task."""

    unit: str = Field(description="The unit that runs the task; poll it for the result.")
    task_id: str
    result_url_path: str = Field(description="Where to poll: GET this path on the same host.")
    status: Literal["accepted"] = "accepted"


class TaskStatus(BaseModel):
    """The answer of ``GET /unit_api/task_results/{task_id}``.

    ``pending`` and ``running`` come with HTTP 202; ``succeeded`` (with ``result``) and
    ``failed`` (with ``error``, ``cause``, ``remediation``) with HTTP 200: the HTTP status
    describes the poll, not the task.
    """

    task_id: str
    result_url_path: str
    status: TaskState
    result: Any = Field(default=None, description="The task's return value, once succeeded.")
    error: str | None = None
    cause: str | None = None
    remediation: str | None = None
    progress: Any = Field(default=None, description="What a long task has done so far.")


STILL_RUNNING: dict[int | str, dict[str, Any]] = {
    202: {"model": TaskStatus, "description": "Still pending or running; poll again."}
}
