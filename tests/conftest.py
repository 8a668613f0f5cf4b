"""Test harness: markers by folder, and a real Kafka broker and PostgreSQL server per session.

An address in the environment (KAFKA_BOOTSTRAP, DATABASE_URL) wins; otherwise the fixtures start
the local servers of `hotline infra` (or reuse a running `hotline infra up`) and stop at the end
of the session only what they started themselves. With CI=true a server that cannot start fails
the run, and a skipped integration or e2e test counts as a failure: nothing passes by skipping.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Awaitable, Callable, Generator, Iterator
from pathlib import Path

import pytest

from hotline.infra.harness import ServerName, server_for_session
from hotline.infra.kannel import KannelProcess
from hotline.infra.postgres import TEST_DATABASE
from hotline.infra.process import InfraError
from hotline.infra.runner import run_coroutine
from hotline.infra.settings import InfraSettings
from hotline.infra.topics import create_topics, delete_topics, unique_topic_name

TESTS_DIR = Path(__file__).parent
MARKER_BY_FOLDER = {"unit": "unit", "integration": "integration", "e2e": "e2e", "browser": "browser", "chaos": "chaos"}
SERVER_TIERS = ("integration", "e2e", "browser", "chaos")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


# -- markers by folder --------------------------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = Path(item.path).resolve().relative_to(TESTS_DIR).parts[0]
        except (ValueError, IndexError):
            continue
        marker = MARKER_BY_FOLDER.get(folder)
        if marker and item.get_closest_marker(marker) is None:
            item.add_marker(getattr(pytest.mark, marker))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    if (
        in_ci()
        and isinstance(report, pytest.TestReport)
        and report.skipped
        and any(item.get_closest_marker(tier) for tier in SERVER_TIERS)
    ):
        report.outcome = "failed"
        tiers = "/".join(SERVER_TIERS)
        report.longrepr = f"skipped in CI, which counts as a failure for {tiers} tests: {report.longrepr}"
    return report


# -- servers ------------------------------------------------------------------------------------
def cannot_start(what: str, error: InfraError) -> None:
    """A server the tests need is not there: a failure under CI=true, else a skip."""
    message = f"{what} could not be started: {error}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def infra_settings() -> InfraSettings:
    return InfraSettings()


@pytest.fixture(scope="session")
def kafka_bootstrap(infra_settings: InfraSettings) -> Iterator[str]:
    """host:port of a real Kafka broker for the whole session."""
    yield from _serve("kafka", infra_settings, "the Kafka broker")


@pytest.fixture(scope="session")
def database_url(infra_settings: InfraSettings) -> Iterator[str]:
    """SQLAlchemy async URL (postgresql+asyncpg) of a real PostgreSQL test database."""
    yield from _serve("postgres", infra_settings, "the PostgreSQL server")


def _serve(name: ServerName, settings: InfraSettings, what: str) -> Iterator[str]:
    # Stops the server at the end only if this session started it and no other session uses it.
    session = server_for_session(name, settings, database=TEST_DATABASE)
    try:
        address = session.__enter__()
    except InfraError as error:
        cannot_start(what, error)
        raise
    try:
        yield address
    finally:
        session.__exit__(None, None, None)


@contextlib.contextmanager
def fresh_database(database_url: str) -> Iterator[str]:
    """A new, empty database on the same server, dropped afterwards."""
    from sqlalchemy.engine import make_url

    name = f"t_{uuid.uuid4().hex[:12]}"
    server = make_url(database_url)

    async def admin(statement: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(
            host=server.host,
            port=server.port,
            user=server.username,
            password=server.password,
            database=server.database,
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    run_coroutine(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        run_coroutine(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_database_url(database_url: str) -> Iterator[str]:
    """A new, empty database on the same server for one test, dropped afterwards."""
    with fresh_database(database_url) as url:
        yield url


TopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def new_topic(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Iterator[TopicFactory]:
    """`await new_topic(partitions=3)` creates a topic unique to this test and run."""
    created: list[str] = []

    async def make(partitions: int, prefix: str | None = None) -> str:
        name = unique_topic_name(prefix or request.node.name)
        await create_topics(kafka_bootstrap, {name: partitions})
        created.append(name)
        return name

    yield make
    run_coroutine(delete_topics(kafka_bootstrap, created))


@pytest.fixture(scope="session")
def kannel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KannelProcess]:
    """A real Kannel (bearerbox + smsbox) whose fake SMSC records every SMS it is sent (`.received()`)."""

    process = KannelProcess(tmp_path_factory.mktemp("kannel"))
    try:
        process.start()
    except InfraError as error:
        process.stop()
        cannot_start("Kannel", error)
        raise
    try:
        yield process
    finally:
        process.stop()
