"""SMS settings (HOTLINE_SMS_*) and the per-branch choice of adapter (`[sms]` in the branch file)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.branch_config import DEFAULT_BRANCH, config_dirs
from shared.clock import Clock
from shared.sms.gateways import GatewayError, KannelHttpGateway, SmppGateway, SmsGateway, Submitted
from shared.sms.queue import SmsQueueMixin, SmsSender

Adapter = Literal["kannel", "smpp"]


class SmsSettings(BaseSettings):
    """Where the gateways are; which one a branch uses is in its branch file (`[sms] adapter`)."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_SMS_", extra="ignore")

    default_adapter: Adapter = "kannel"
    sender: str = "95007"  # the source address when a branch names none
    kannel_url: str | None = None  # smsbox's sendsms port, e.g. http://kannel:13013
    kannel_username: str = "hotline"
    kannel_password: SecretStr = SecretStr("")
    # our delivery-report endpoint as Kannel reaches it (e.g. http://dispatch:8102/sms/dlr) and its HMAC key
    dlr_url: str | None = None
    dlr_secret: SecretStr | None = None
    smpp_host: str | None = None
    smpp_port: int = 2775
    smpp_system_id: str = "hotline"
    smpp_password: SecretStr = SecretStr("")
    smpp_system_type: str = ""
    # seconds before the 1st, 2nd ... retry; a message still failing after the last raises an alert
    retry_delays: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0, 1800.0)
    # a message left "sending" by a killed sender is retried after this, unless a delivery report came
    claim_timeout: float = Field(default=30.0, gt=0)
    poll_interval: float = Field(default=0.5, gt=0)


@dataclass(frozen=True)
class BranchSms:
    """A branch's `[sms]` section: its adapter and source address."""

    adapter: Adapter
    sender: str


def branch_sms(branch: str, settings: SmsSettings, env: Mapping[str, str] | None = None) -> BranchSms:
    """The branch file's `[sms]` (the first file found wins, as for the rest of the branch's policy)."""
    section: Mapping[str, object] = {}
    for code in (branch, DEFAULT_BRANCH):
        found = False
        for folder in config_dirs(env):
            path = folder / "branches" / f"{code}.toml"
            if path.is_file():
                with path.open("rb") as handle:
                    section = tomllib.load(handle).get("sms", {})
                found = True
                break
        if found:
            break
    adapter = str(section.get("adapter", settings.default_adapter))
    if adapter not in ("kannel", "smpp"):
        raise ValueError(f"branch {branch!r}: [sms] adapter is 'kannel' or 'smpp', not {adapter!r}")
    return BranchSms(adapter, str(section.get("sender", settings.sender)))  # type: ignore[arg-type]


class _Unconfigured:
    """A branch names an adapter whose address is not set: every send fails loudly (and alerts)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, message_id: int, phone: str, text: str, sender: str) -> Submitted:
        raise GatewayError(f"the {self.name} SMS gateway is not configured (HOTLINE_SMS_*)", transient=False)

    async def close(self) -> None:
        return None


class Gateways:
    """The gateway and sender of each branch, built once per process from the settings."""

    def __init__(self, settings: SmsSettings, env: Mapping[str, str] | None = None) -> None:
        self._settings = settings
        self._env = env
        by_name: dict[str, SmsGateway] = {}
        secret = settings.dlr_secret.get_secret_value() if settings.dlr_secret else None
        by_name["kannel"] = (
            KannelHttpGateway(
                settings.kannel_url,
                settings.kannel_username,
                settings.kannel_password.get_secret_value(),
                dlr_url=settings.dlr_url,
                dlr_secret=secret,
            )
            if settings.kannel_url
            else _Unconfigured("kannel")
        )
        by_name["smpp"] = (
            SmppGateway(
                settings.smpp_host,
                settings.smpp_port,
                settings.smpp_system_id,
                settings.smpp_password.get_secret_value(),
                system_type=settings.smpp_system_type,
            )
            if settings.smpp_host
            else _Unconfigured("smpp")
        )
        self._by_name = by_name
        self._by_branch: dict[str, BranchSms] = {}

    def for_branch(self, branch: str) -> tuple[SmsGateway, str]:
        """The gateway a branch's messages go through and the source address they carry."""
        route = self._by_branch.get(branch)
        if route is None:
            route = self._by_branch[branch] = branch_sms(branch, self._settings, self._env)
        return self._by_name[route.adapter], route.sender

    async def close(self) -> None:
        for gateway in self._by_name.values():
            await gateway.close()


def build_gateways(settings: SmsSettings | None = None, env: Mapping[str, str] | None = None) -> Gateways:
    return Gateways(settings or SmsSettings(), env)


def build_sender(
    service: str,
    sessions: async_sessionmaker[AsyncSession],
    model: type[SmsQueueMixin],
    settings: SmsSettings,
    clock: Clock,
) -> SmsSender:
    """The sender loop of one service's SMS table, with the gateways and retry schedule of `settings`."""
    return SmsSender(
        service,
        sessions,
        model,
        build_gateways(settings),
        clock,
        retry_delays=settings.retry_delays,
        claim_timeout=settings.claim_timeout,
        poll_interval=settings.poll_interval,
    )
