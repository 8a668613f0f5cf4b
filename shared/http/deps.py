"""The dependencies every service's routes share, as `Annotated` aliases so a signature reads like a sentence.

`create_app(state={"sessions": ..., "clock": ..., "policies": ...})` puts what they hand out on `app.state`.
All async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.branch_config import BranchPolicies
from shared.clock import Clock


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session of the service's database for the request (`app.state.sessions`), closed after it."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        yield session


async def request_clock(request: Request) -> Clock:
    """The service's clock (`app.state.clock`): the demo's simulated one or the system's."""
    clock: Clock = request.app.state.clock
    return clock


async def branch_policies(request: Request) -> BranchPolicies:
    """The service's one BranchPolicies cache (`app.state.policies`)."""
    policies: BranchPolicies = request.app.state.policies
    return policies


def from_state(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency handing out `app.state.<name>`: for what only one service keeps there (its own context)."""

    async def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    dependency.__name__ = f"state_{name}"
    return dependency


Session = Annotated[AsyncSession, Depends(db_session)]
RequestClock = Annotated[Clock, Depends(request_clock)]
Policies = Annotated[BranchPolicies, Depends(branch_policies)]
