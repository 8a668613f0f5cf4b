"""Rate limits per client address and per credential: token buckets, configurable per branch.

One `RateLimiter` per process (in memory, bounded in keys). The categories are the actions a
probe can repeat to guess or to flood: `sign_in` (failed authentications, per client address;
the identity service uses the same limiter for its sign-in), `reveal` and `identity_check`
(per credential), `write` (every authenticated POST/PUT/PATCH/DELETE, per credential). Over
the limit the answer is 429 with Retry-After. With several API processes each keeps its own
buckets, so the effective limit is per process. The self-service sign-in (issue 21) adds
`code_request` and `code_check`, per client address, beside its own limits per phone.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.http.errors import ApiError

CATEGORIES = ("sign_in", "reveal", "identity_check", "write", "code_request", "code_check")
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour)\s*$")
_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


@dataclass(frozen=True, slots=True)
class Rate:
    """`count` actions per `period` seconds, in a burst of up to `count`."""

    count: int
    period: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """`30/minute`, `5/second`, `1000/hour`."""
        match = _RATE.match(text)
        if match is None or int(match.group(1)) < 1:
            raise ValueError(f"invalid rate {text!r}: use N/second, N/minute or N/hour with N >= 1")
        return cls(int(match.group(1)), _SECONDS[match.group(2)])


_DEFAULTS = {
    "sign_in": "20/minute",
    "reveal": "60/minute",
    "identity_check": "20/minute",
    "write": "1200/minute",
    "code_request": "10/hour",  # SMS codes asked from one client address, whatever the phones
    "code_check": "30/hour",  # codes tried from one client address, whatever the codes
}


class RateLimitSettings(BaseSettings):
    """HOTLINE_RATE_LIMIT_*: the defaults, and per-branch overrides as JSON.

    `HOTLINE_RATE_LIMIT_BRANCHES='{"demo": {"reveal": "10/minute"}}'`
    """

    model_config = SettingsConfigDict(env_prefix="HOTLINE_RATE_LIMIT_", extra="ignore")

    enabled: bool = True
    defaults: dict[str, str] = Field(default_factory=lambda: dict(_DEFAULTS))
    branches: dict[str, dict[str, str]] = Field(default_factory=dict)
    max_keys: int = Field(default=100_000, ge=100)

    @field_validator("defaults", "branches")
    @classmethod
    def _rates_parse(cls, value: Any) -> Any:
        rates = [value] if all(isinstance(v, str) for v in value.values()) else list(value.values())
        for mapping in rates:
            for category, text in mapping.items():
                if category not in CATEGORIES:
                    raise ValueError(f"unknown rate-limit category {category!r}; known: {', '.join(CATEGORIES)}")
                Rate.parse(text)
        return value

    def rate(self, category: str, branch: str | None) -> Rate:
        text = (self.branches.get(branch or "", {}) or {}).get(category) or self.defaults.get(category)
        return Rate.parse(text or _DEFAULTS[category])


class RateLimiter:
    """Token buckets by key; the least recently used keys are dropped beyond `max_keys`."""

    def __init__(self, settings: RateLimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def hit(self, category: str, key: str, *, branch: str | None = None, cost: float = 1.0) -> float | None:
        """Take `cost` from the bucket; the seconds to wait when it is empty (nothing taken), else None."""
        if not self.settings.enabled:
            return None
        rate = self.settings.rate(category, branch)
        per_second = rate.count / rate.period
        now = self._clock()
        slot = (category, key)
        tokens, at = self._buckets.pop(slot, (float(rate.count), now))
        tokens = min(float(rate.count), tokens + (now - at) * per_second)
        if tokens < cost:
            self._keep(slot, tokens, now)
            return (cost - tokens) / per_second
        self._keep(slot, tokens - cost, now)
        return None

    def blocked(self, category: str, key: str, *, branch: str | None = None) -> float | None:
        """The seconds to wait when the bucket is empty now, without taking anything."""
        if not self.settings.enabled:
            return None
        rate = self.settings.rate(category, branch)
        tokens, at = self._buckets.get((category, key), (float(rate.count), self._clock()))
        tokens = min(float(rate.count), tokens + (self._clock() - at) * rate.count / rate.period)
        return None if tokens >= 1 else (1 - tokens) * rate.period / rate.count

    def _keep(self, slot: tuple[str, str], tokens: float, at: float) -> None:
        self._buckets[slot] = (tokens, at)
        while len(self._buckets) > self.settings.max_keys:
            self._buckets.popitem(last=False)


def too_many(category: str, wait: float) -> ApiError:
    return ApiError(
        429,
        f"too many {category.replace('_', ' ')} requests; try again in {math.ceil(wait)} s",
        code="too_many_requests",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


def client_key(request: Request) -> str:
    client = request.client
    return f"ip:{client.host if client else 'unknown'}"


def credential_key(request: Request) -> str:
    """A digest of the credential presented (never the credential itself)."""
    raw = request.headers.get("x-api-key") or request.headers.get("authorization") or ""
    return "cred:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def limiter_of(request: Request) -> RateLimiter | None:
    limiter = getattr(request.app.state, "rate_limiter", None)
    return limiter if isinstance(limiter, RateLimiter) else None


def check_rate(request: Request, category: str, branch: str | None) -> None:
    """429 when the credential of this request has used up `category` (no-op without a limiter)."""
    limiter = limiter_of(request)
    if limiter is None:
        return
    wait = limiter.hit(category, credential_key(request), branch=branch)
    if wait is not None:
        raise too_many(category, wait)


def rate_limited(category: str) -> Any:
    """A route dependency: `dependencies=[rate_limited("reveal")]` (after the route's auth)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown rate-limit category {category!r}")

    from shared.auth.deps import current_principal  # here: shared.auth.deps imports this module

    async def limit(request: Request, principal: Any = Depends(current_principal)) -> None:  # noqa: B008
        check_rate(request, category, principal.branch)

    limit.__name__ = f"rate_limit_{category}"
    return Depends(limit)


def rates_for(settings: RateLimitSettings, branch: str) -> Mapping[str, Rate]:
    """The limits one branch runs with (for docs and ops)."""
    return {category: settings.rate(category, branch) for category in CATEGORIES}
