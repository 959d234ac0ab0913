"""Dependency aliases: a handler's signature lists what it needs, typed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from pioleader.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_now(request: Request) -> datetime:
    return get_services(request).clock.now()


ServicesDep = Annotated[Services, Depends(get_services)]
NowDep = Annotated[datetime, Depends(get_now)]
