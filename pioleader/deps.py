"""Dependency aliases: a handler's signature lists what it needs, typed.

The providers are ``async`` although they never wait: FastAPI runs a plain ``def`` dependency
in its thread pool, and two thread hops per request were most of the cost of a simple GET.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from pioleader.services import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_now(request: Request) -> datetime:
    services: Services = request.app.state.services
    return services.clock.now()


ServicesDep = Annotated[Services, Depends(get_services)]
NowDep = Annotated[datetime, Depends(get_now)]
