"""`hotline up | down | status`: the whole system on one machine (the README's run command)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from hotline import system
from hotline.infra.console import log_to_stderr
from hotline.infra.harness import ensure_kafka, ensure_postgres
from hotline.infra.kafka import KafkaServer
from hotline.infra.postgres import PostgresServer, refuse_non_durable
from hotline.infra.process import InfraError
from hotline.infra.settings import InfraSettings
from shared.branch_config import PACKAGED_DIR
from shared.runtime import API_PORTS, CONSOLE_PORT, SERVICES

console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"hotline: error: {message}", err=True)
    return typer.Exit(code)


def _org(branch: str) -> dict[str, Any]:
    path = PACKAGED_DIR / "orgs" / f"{branch}.toml"
    return tomllib.loads(path.read_text()) if path.is_file() else {}


def _print_banner(tokens: list[tuple[str, str, str]], ready_seconds: float, tokens_file: Path) -> None:
    typer.echo(f"hotline is up in {ready_seconds:.1f} s")
    for service in SERVICES:
        base = f"http://127.0.0.1:{API_PORTS[service]}"
        typer.echo(f"  {service:<12} {base}   docs: {base}/docs   OpenAPI: {base}/openapi.json")
    typer.echo(f"demo access tokens of branch {system.DEMO_BRANCH!r}, valid 10 min (also in {tokens_file}):")
    for role, scope, token in tokens:
        typer.echo(f"  {role:<20} {scope:<14} {token}")
    _print_console(tokens_file.parent / "demo-passwords.txt")
    typer.echo("Ctrl-C stops everything.")


def _print_console(passwords_file: Path) -> None:
    from hotline.demo_people import read_passwords

    typer.echo(f"web console: http://127.0.0.1:{CONSOLE_PORT}/  sign in as (from {passwords_file}):")
    for person in read_passwords(passwords_file):
        typer.echo(f"  {person.role:<20} {person.username:<16} {person.password}")


class SystemStartError(RuntimeError):
    """The system could not be started; the message says what failed (and where its log is)."""


@dataclass
class StartedSystem:
    """A system this process started: its processes, environment and demo secret; `stop()` ends it all."""

    supervisor: system.Supervisor
    state: system.SystemState
    state_path: Path
    env: dict[str, str]
    secret: str
    infra: InfraSettings
    ready_seconds: float

    def stop(self) -> None:
        console.print("stopping…")
        self.supervisor.stop()
        for name in self.state.infra_started:
            server = KafkaServer(self.infra) if name == "kafka" else PostgresServer(self.infra)
            try:
                server.stop()
            except InfraError as error:
                console.print(f"could not stop {name}: {error}")
        self.state_path.unlink(missing_ok=True)


def start_system(
    *,
    postgres: bool = False,
    speed: float = 1.0,
    timeout: float = 240,
    start: datetime | None = None,
    dev_hs256: bool = False,
) -> StartedSystem:
    """Kafka, a database per service, topics, the four services (workers first) and the demo customers.

    `speed`/`start` set the shared simulated clock (demo and simulation only). Raises SystemStartError,
    having stopped whatever it had started.
    """
    state_path = system.system_dir() / "up.json"
    begun = time.monotonic()
    plan = system.plan()
    busy = system.busy_ports(sorted({spec.port for spec in plan} | set(API_PORTS.values()) | {CONSOLE_PORT}))
    if busy:
        raise SystemStartError(f"ports {', '.join(map(str, busy))} are in use: another hotline system runs here")
    infra = InfraSettings()
    started: list[str] = []
    try:
        bootstrap, kafka_started = ensure_kafka(infra)
        if kafka_started:
            started.append("kafka")
        env = dict(os.environ)
        env["KAFKA_BOOTSTRAP"] = bootstrap
        folder = system.system_dir()
        if postgres or os.environ.get("DATABASE_URL"):
            url, pg_started = ensure_postgres(infra)
            if pg_started:
                started.append("postgres")
            refuse_non_durable(url)
            env["DATABASE_URL"] = url
            database = "postgresql"
        else:
            env.pop("DATABASE_URL", None)
            env["HOTLINE_STATE_DIR"] = str(folder / "data")
            database = f"sqlite files in {folder / 'data'}"
        asyncio.run(system.ensure_topics(bootstrap))
    except (InfraError, RuntimeError) as error:
        raise SystemStartError(str(error)) from error

    secret = system.demo_secret(folder)
    from hotline.demo_people import machine_key

    # the callback service's key for intake lives in identity, traded there for integration tokens
    callback_key = machine_key(env, system.DEMO_BRANCH, "callback-service", ["tickets:create"])
    clock = system.clock_env(speed, start)
    env.update(
        {
            "HOTLINE_JWT_SECRET": secret,
            "HOTLINE_CALLBACK_INTAKE_API_KEY": callback_key,
            "HOTLINE_CALLBACK_IDENTITY_URL": f"http://127.0.0.1:{API_PORTS['identity']}",
            # every service verifies people's tokens against identity's JWKS; HS256 only as a dev option
            "HOTLINE_JWKS_URL": f"http://127.0.0.1:{API_PORTS['identity']}/.well-known/jwks.json",
            "HOTLINE_JWT_DEV_HS256": "true" if dev_hs256 else "false",
            # single sign-on returns the browser to the console, which hands the code to identity
            "HOTLINE_IDENTITY_OIDC_REDIRECT_BASE": f"http://127.0.0.1:{CONSOLE_PORT}",
            "HOTLINE_LOG_JSON": "true",
            # taking calls is CPU-bound in intake's API: one process per core on its one port (issue 24)
            "HOTLINE_INTAKE_API_PROCESSES": env.get("HOTLINE_INTAKE_API_PROCESSES", str(min(4, os.cpu_count() or 1))),
            **clock,
        }
    )
    supervisor = system.Supervisor(folder, env)
    state = system.SystemState(
        os.getpid(), datetime.now(UTC).isoformat(), bootstrap, database, infra_started=started, clock=clock
    )
    result = StartedSystem(supervisor, state, state_path, env, secret, infra, 0.0)
    workers = [spec for spec in plan if spec.role != "api"]
    apis = [spec for spec in plan if spec.role == "api"]
    console_group = [system.console_spec()]  # it calls every API: started last
    try:
        for group in (workers, apis, console_group):
            for spec in group:
                supervisor.start(spec)
            state.processes = {name: process.pid for name, (_, process) in supervisor.children.items()}
            state.save(state_path)
            problems = supervisor.wait_healthy(group, timeout)
            if problems:
                raise RuntimeError("; ".join(problems))
    except (RuntimeError, KeyboardInterrupt) as error:
        result.stop()
        raise SystemStartError(f"start-up failed: {error}") from None
    _seed_demo_customers(env)
    result.ready_seconds = time.monotonic() - begun
    return result


def up(
    postgres: Annotated[bool, typer.Option("--postgres", help="PostgreSQL instead of SQLite files.")] = False,
    speed: Annotated[float, typer.Option("--speed", help="Demo only: policy clocks run this many times faster.")] = 1.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for every service to be ready.")] = 240,
    once: Annotated[bool, typer.Option("--once", help="Exit after start-up, leaving the system running.")] = False,
    dev_hs256: Annotated[
        bool, typer.Option("--dev-hs256", help="Development only: also accept HS256 tokens of the demo secret.")
    ] = False,
) -> None:
    """Start Kafka, a database per service and the four services (API + worker each); Ctrl-C stops it all."""
    log_to_stderr()
    running = system.running_system(system.system_dir() / "up.json")
    if running is not None:
        typer.echo(
            f"hotline is already running (supervisor pid {running.supervisor_pid}, since {running.started_at}); "
            f"APIs on ports {', '.join(str(API_PORTS[s]) for s in SERVICES)}. `hotline down` stops it."
        )
        return
    if speed <= 0:
        raise _fail("--speed: must be positive", 2)
    try:
        started = start_system(postgres=postgres, speed=speed, timeout=timeout, dev_hs256=dev_hs256)
    except SystemStartError as error:
        raise _fail(str(error)) from None
    supervisor, folder = started.supervisor, system.system_dir()
    tokens = _demo_sign_in(started.env, folder)
    tokens_file = folder / "demo-tokens.txt"
    tokens_file.write_text("".join(f"{role}\t{scope}\t{token}\n" for role, scope, token in tokens))
    tokens_file.chmod(0o600)
    _print_banner(tokens, started.ready_seconds, tokens_file)
    if once:
        for _, process in supervisor.children.values():
            process.returncode = 0  # detach: the processes live on in their own sessions
        return
    stop_requested = False

    def request_stop(*_: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with Live(_status_table(supervisor.status()), console=console, refresh_per_second=1) as live:
        while not stop_requested:
            time.sleep(1)
            said = supervisor.supervise()  # a crashed process is restarted with backoff, and we say so
            for line in said:
                live.console.print(line)
            if said:
                started.state.processes = supervisor.pids()
                started.state.save(started.state_path)
            live.update(_status_table(supervisor.status()))
    started.stop()


def _status_table(rows: dict[str, str]) -> Table:
    table = Table(box=None, show_header=False)
    for service in SERVICES:
        worker = rows.get(f"{service}-worker", rows.get(f"{service}-all", "-"))
        api = rows.get(f"{service}-api", rows.get(f"{service}-all", "-"))
        table.add_row(service, f"api {api}", f"worker {worker}", f"http://127.0.0.1:{API_PORTS[service]}")
    table.add_row("console", f"web {rows.get('console-all', '-')}", "", f"http://127.0.0.1:{CONSOLE_PORT}/")
    return table


def _demo_sign_in(env: dict[str, str], folder: Path) -> list[tuple[str, str, str]]:
    """The demo directory (passwords printed once, kept in demo-passwords.txt) and an access token per person."""
    from hotline.demo_people import ensure_demo_directory, sign_in_all

    passwords_file = folder / "demo-passwords.txt"
    before = passwords_file.read_text() if passwords_file.is_file() else ""
    people = ensure_demo_directory(env, _org(system.DEMO_BRANCH), system.DEMO_BRANCH, passwords_file)
    new = [p for p in people if f"\t{p.username}\t" not in before]
    if new:
        typer.echo(f"demo people of branch {system.DEMO_BRANCH!r}, shown once (kept in {passwords_file}):")
        for person in new:
            typer.echo(f"  {person.role:<20} {person.username:<16} {person.password}")
    identity = f"http://127.0.0.1:{API_PORTS['identity']}"
    example = """'{"username": "demo.agent", "password": "…"}'"""
    typer.echo(f"sign in: curl -H 'Content-Type: application/json' -d {example} {identity}/api/v1/auth/login")
    return sign_in_all(identity, people)


def _seed_demo_customers(env: dict[str, str]) -> None:
    import subprocess
    import sys

    csv = PACKAGED_DIR / "demo" / "customers.csv"
    result = subprocess.run(  # noqa: S603 - our own interpreter and module, an argv list
        [sys.executable, "-m", "hotline", "customers", "import", str(csv), "--branch", system.DEMO_BRANCH],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        console.print(f"demo customers not imported: {result.stdout.strip()} {result.stderr.strip()}")


def down() -> None:
    """Stop a `hotline up` started earlier (also one left behind by a crashed supervisor)."""
    state = system.SystemState.load(system.system_dir() / "up.json")
    if state is None:
        typer.echo("hotline is not running")
        return
    if system.alive(state.supervisor_pid) and state.supervisor_pid != os.getpid():
        os.kill(state.supervisor_pid, signal.SIGTERM)
        for _ in range(150):
            if not system.alive(state.supervisor_pid):
                break
            time.sleep(0.2)
    system.stop_recorded(state)
    infra = InfraSettings()
    for name in state.infra_started:
        server = KafkaServer(infra) if name == "kafka" else PostgresServer(infra)
        try:
            server.stop()
        except InfraError as error:
            typer.echo(f"could not stop {name}: {error}", err=True)
    (system.system_dir() / "up.json").unlink(missing_ok=True)
    typer.echo("hotline stopped")


def status() -> None:
    """Say whether `hotline up` runs, and each service's health."""
    state = system.running_system()
    if state is None:
        typer.echo("hotline is not running")
        raise typer.Exit(1)
    typer.echo(
        f"hotline up since {state.started_at} (supervisor pid {state.supervisor_pid}); kafka {state.kafka_bootstrap}"
    )
    import httpx

    with httpx.Client(timeout=1.0) as client:
        rows = [
            (spec, system.process_health(spec, state.processes.get(spec.name), client))
            for spec in [*system.plan(), system.console_spec()]
        ]
    for spec, health in rows:
        pid = state.processes.get(spec.name)
        typer.echo(f"  {spec.name:<20} pid {pid or '-':<8} port {spec.port:<5} {health}")
    if any(health.startswith("down") for _, health in rows):
        raise typer.Exit(1)
