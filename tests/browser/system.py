"""The whole system as `hotline up` runs it, the console included, as real processes on the shared broker.

Built like the end-to-end one (tests/e2e/conftest.py): its own PostgreSQL databases, topics, consumer groups
and ports, the same simulated clock (a working Monday 08:00 in Nanning, 120 times faster), the demo customers,
and the demo people created in the identity service with `hotline users add --password-stdin`. Used by the
browser tests' session fixture and by bench/console.py.
"""

from __future__ import annotations

import asyncio
import atexit
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from hotline import system as hotline_system
from hotline.infra.kannel import KannelProcess
from hotline.infra.topics import create_topics, delete_topics
from shared.auth.tokens import new_api_key
from shared.clock import ScaledClock
from shared.events import Topic
from shared.runtime import SERVICES
from tests.e2e.conftest import (
    DAY_START,
    SPEED,
    STARTUP_SECONDS,
    Names,
    Processes,
    _admin,
    _free_port,
    _log_tails,
    _process_env,
    _seed_customers,
    _topics_of_run,
)
from tests.e2e.harness import NANNING, EventLog

# the demo people of the browser stories: (username, role, scope claims); the unit's handler names its division
# too, so what the unit drafts goes to its division's review (the knowledge base, RULES.md §7)
PEOPLE: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("agent.li", "agent", {}),
    ("agent.wang", "agent", {}),
    ("center.zhou", "center_supervisor", {}),
    ("handler.qingxiu", "unit_handler", {"unit": "U-QINGXIU", "division": "D-EAST"}),
    ("division.east", "division_supervisor", {"division": "D-EAST"}),
    ("admin.demo", "admin", {}),  # the branch's settings (single sign-on, issue 16)
)
# issue 17: the people who work tickets after dispatch: (username, roles, unit, division)
WORK_PEOPLE = (
    ("handler.xingning", ("unit_handler",), "U-XINGNING", None),
    ("division.west", ("division_supervisor",), None, "D-WEST"),
    ("admin.org", ("admin",), None, None),
    ("lead.chen", ("center_supervisor", "agent"), None, None),
)
folders: list[Path] = []  # the running systems' folders, for the failure hook


@dataclass
class BrowserSystem:
    """What a browser story needs: the console's URL, the people's passwords, the APIs, the clock, the events."""

    console_url: str
    urls: dict[str, str]
    passwords: dict[str, str]
    clock: ScaledClock
    events: EventLog
    cti_topic: str
    bootstrap: str
    folder: Path
    kannel: KannelProcess | None = None  # issue 21: the SMS gateway whose fake SMSC gets the customers' codes
    _tokens: dict[str, str] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock.now().astimezone(NANNING)

    async def token(self, username: str) -> str:
        """The person's access token from identity itself (to act through an API, like the unit's app)."""
        if username not in self._tokens:
            async with httpx.AsyncClient(base_url=self.urls["identity"], timeout=30) as client:
                answer = await client.post(
                    "/api/v1/auth/login", json={"username": username, "password": self.passwords[username]}
                )
            assert answer.status_code == 200, answer.text
            self._tokens[username] = answer.json()["access_token"]
        return self._tokens[username]

    async def ring(self, caller: str, extension: str) -> str:
        """The phone system offers a call from `caller` at `extension` (a CallOffered on the run's CTI topic)."""
        from aiokafka import AIOKafkaProducer

        from shared.events import CallOffered, message_key, new_event

        call_id = f"call-{uuid.uuid4().hex[:10]}"
        event = new_event(
            CallOffered(caller_number=caller, dialled_number="0771-96877", queue="gas", extension=extension),
            branch="demo",
            producer="cti",
            call_id=call_id,
            correlation_id=call_id,
            occurred_at=datetime.now(UTC),
        )
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(self.cti_topic, event.model_dump_json().encode(), key=message_key(event))
        finally:
            await producer.stop()
        return call_id

    async def api(self, username: str, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token(username)}"}
        async with httpx.AsyncClient(base_url=self.urls[service], headers=headers, timeout=30) as client:
            return await client.request(method, path, **kwargs)


def _add_people(env: dict[str, str]) -> dict[str, str]:
    passwords: dict[str, str] = {}
    people = {username for username, _, _ in PEOPLE}
    everyone = [(username, (role,), claims.get("unit"), claims.get("division")) for username, role, claims in PEOPLE]
    everyone += [person for person in WORK_PEOPLE if person[0] not in people]
    for username, roles, unit, division in everyone:
        password = f"Pw-{secrets.token_urlsafe(12)}"
        argv = [sys.executable, "-m", "hotline", "users", "add", "--branch", "demo", "--username", username]
        argv += [*(part for role in roles for part in ("--role", role)), "--name", username, "--password-stdin"]
        if unit:
            argv += ["--unit", unit]
        if division:
            argv += ["--division", division]
        result = subprocess.run(argv, env=env, input=password + "\n", capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{username} not added: {result.stdout} {result.stderr}"
        passwords[username] = password
    return passwords


def _console_env(env: dict[str, str], names: Names, api_urls: dict[str, str], database_url: str) -> dict[str, str]:
    own = dict(env)
    own.update(
        {
            "HOTLINE_CONSOLE_INTAKE_URL": api_urls["intake"],
            "HOTLINE_CONSOLE_DISPATCH_URL": api_urls["dispatch"],
            "HOTLINE_CONSOLE_SLA_URL": api_urls["sla_monitor"],
            "HOTLINE_CONSOLE_CALLBACK_URL": api_urls["callback"],
            "HOTLINE_CONSOLE_IDENTITY_URL": api_urls["identity"],
            "HOTLINE_CONSOLE_KNOWLEDGE_URL": api_urls["knowledge"],
            "HOTLINE_CONSOLE_REPORTING_URL": api_urls["reporting"],
            "HOTLINE_CONSOLE_OUTBOUND_URL": api_urls["outbound"],  # issue 21: self-service
            "HOTLINE_CONSOLE_TOPIC_TICKETS": names.topic(Topic.TICKETS),
            "HOTLINE_CONSOLE_TOPIC_SLA": names.topic(Topic.SLA),
            "HOTLINE_CONSOLE_TOPIC_NOTIFICATIONS": names.topic(Topic.NOTIFICATIONS),
            "HOTLINE_CONSOLE_TOPIC_CTI_CALLS": names.topic(Topic.CTI_CALLS),
            "HOTLINE_CONSOLE_INSTANCE_ID": f"{names.prefix}-console",
            "HOTLINE_CONSOLE_DATABASE_URL": database_url,
        }
    )
    return own


def _sms_env(kannel: KannelProcess, api_urls: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    """Every SMS-sending process to the test's Kannel; delivery reports to outbound (dispatch only logs notices)."""
    return {
        "HOTLINE_SMS_KANNEL_URL": kannel.sendsms_url,
        "HOTLINE_SMS_KANNEL_USERNAME": kannel.username,
        "HOTLINE_SMS_KANNEL_PASSWORD": kannel.password,
        "HOTLINE_SMS_DLR_URL": f"{api_urls['outbound']}/sms/dlr",
        "HOTLINE_SMS_DLR_SECRET": secrets.token_urlsafe(16),
        "HOTLINE_OUTBOUND_INTAKE_URL": api_urls["intake"],
        "HOTLINE_OUTBOUND_INTAKE_API_KEY": env["HOTLINE_CALLBACK_INTAKE_API_KEY"],
    }


@asynccontextmanager
async def running_system(kafka_bootstrap: str, database_url: str, folder: Path) -> AsyncIterator[BrowserSystem]:
    """Every service of `hotline up` and the console as real processes, stopped at the end whatever happens."""
    assert "identity" in SERVICES, "the console signs people in through the identity service, which is missing"
    names = Names(uuid.uuid4().hex[:8])
    server = make_url(database_url)
    services = [*SERVICES, "console"]
    databases = {service: f"br_{names.run}_{service}" for service in services}
    urls = {s: server.set(database=n).render_as_string(hide_password=False) for s, n in databases.items()}
    specs = [hotline_system.ProcessSpec(s.service, s.role, _free_port()) for s in hotline_system.plan(SERVICES)]
    console_spec = hotline_system.ProcessSpec("console", "all", _free_port())
    api_port = {spec.service: spec.port for spec in specs if spec.role in ("api", "all")}
    api_urls = {service: f"http://127.0.0.1:{port}" for service, port in api_port.items()}

    await _admin(database_url, [f'CREATE DATABASE "{name}"' for name in databases.values()])
    topics = [Topic.TICKETS, Topic.SLA, Topic.NOTIFICATIONS, Topic.CTI_CALLS, Topic.KNOWLEDGE, "hotline.sla.ticks"]
    topics.append(Topic.REPORTING)
    await create_topics(kafka_bootstrap, {names.topic(t): hotline_system.TOPIC_PARTITIONS for t in topics})
    events = EventLog(kafka_bootstrap, [names.topic(t) for t in (Topic.TICKETS, Topic.SLA, Topic.NOTIFICATIONS)])
    await events.start()

    epoch_real = datetime.now(UTC) + timedelta(seconds=STARTUP_SECONDS + 10)
    secret = secrets.token_urlsafe(48)
    own_urls = {s: u for s, u in urls.items() if s != "console"}
    env = _process_env(
        kafka_bootstrap, own_urls, folder, secret, new_api_key(), epoch_real, api_urls["intake"], api_urls["dispatch"]
    )
    env.update(names.env())
    # people's tokens come from identity and are verified against its JWKS, as under `hotline up`
    env["HOTLINE_JWKS_URL"] = f"{api_urls['identity']}/.well-known/jwks.json"
    env["HOTLINE_JWT_DEV_HS256"] = "false"
    # single sign-on returns the browser to the console (issue 16), which hands the code to identity
    env["HOTLINE_IDENTITY_OIDC_REDIRECT_BASE"] = f"http://127.0.0.1:{console_spec.port}"
    # reporting (area notices) on the run's own topics and group, like the other services
    env["HOTLINE_REPORTING_CONSUMER_GROUP"] = f"{names.prefix}-reporting"
    env["HOTLINE_REPORTING_TICKETS_TOPIC"] = names.topic(Topic.TICKETS)
    env["HOTLINE_REPORTING_SLA_TOPIC"] = names.topic(Topic.SLA)
    env["HOTLINE_REPORTING_REPORTING_TOPIC"] = names.topic(Topic.REPORTING)
    # every story signs in afresh: more sign-ins per minute than one person makes (identity's limiter)
    env["HOTLINE_IDENTITY_RATE_PER_USERNAME"] = "1000"
    env["HOTLINE_IDENTITY_RATE_PER_ADDRESS"] = "1000"
    # issue 21: SMS through a real Kannel (the self-service page's codes); outbound takes web requests to intake
    kannel = KannelProcess(folder / "kannel")
    await asyncio.to_thread(kannel.start)
    env.update(_sms_env(kannel, api_urls, env))
    processes = Processes(folder, env)
    atexit.register(processes.stop)
    atexit.register(kannel.stop)
    folders.append(folder)
    try:
        workers = [spec for spec in specs if spec.role != "api"]
        apis = [spec for spec in specs if spec.role == "api"]
        for group in (workers, apis):
            for spec in group:
                processes.start(spec)
            problems = await asyncio.to_thread(processes.wait_healthy, group)
            assert not problems, "; ".join(problems) + "\n" + _log_tails(folder)
        processes.env = _console_env(env, names, api_urls, urls["console"])
        processes.start(console_spec)
        problems = await asyncio.to_thread(processes.wait_healthy, [console_spec])
        assert not problems, "; ".join(problems) + "\n" + _log_tails(folder)
        await asyncio.to_thread(_seed_customers, env)
        passwords = await asyncio.to_thread(_add_people, env)
        clock = ScaledClock(SPEED, epoch_real, DAY_START)
        early = (DAY_START - clock.now()).total_seconds()
        if early > 0:
            await asyncio.sleep(early / SPEED)
        yield BrowserSystem(
            console_url=f"http://127.0.0.1:{console_spec.port}",
            urls=api_urls,
            passwords=passwords,
            clock=clock,
            events=events,
            cti_topic=names.topic(Topic.CTI_CALLS),
            bootstrap=kafka_bootstrap,
            folder=folder,
            kannel=kannel,
        )
    finally:
        await asyncio.to_thread(processes.stop)
        await asyncio.to_thread(kannel.stop)
        atexit.unregister(kannel.stop)
        atexit.unregister(processes.stop)
        folders.remove(folder)
        await events.stop()
        await _admin(database_url, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in databases.values()])
        await delete_topics(kafka_bootstrap, await _topics_of_run(kafka_bootstrap, names.prefix))
