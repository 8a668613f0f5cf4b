"""A private PostgreSQL server from Debian's package: own data folder, own port, loopback only."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import structlog

from hotline.infra.process import InfraError, is_running, port_open, read_pid, tail, terminate
from hotline.infra.runner import run_coroutine
from hotline.infra.settings import InfraSettings

log = structlog.get_logger(__name__)

# One database per service (no service reads another's tables), one for development, one for tests.
SERVICE_DATABASES = (
    "intake",
    "dispatch",
    "sla_monitor",
    "callback",
    "identity",
    "knowledge",
    "reporting",
    "outbound",
    "console",
)
DEFAULT_DATABASE = "hotline"
TEST_DATABASE = "hotline_test"
DATABASES = (DEFAULT_DATABASE, *SERVICE_DATABASES, TEST_DATABASE)

# Durable by default: an acknowledged work order survives a power cut of a single-machine branch.
SERVER_CONF = """\
# Written by `hotline infra up` at each start; edits here are overwritten.
listen_addresses = '{host}'
port = {port}
unix_socket_directories = '{socket_dir}'
max_connections = 200
{durability}
logging_collector = off
log_min_messages = warning
"""
DURABLE = "fsync = on\nsynchronous_commit = on\nfull_page_writes = on"
# HOTLINE_POSTGRES_UNSAFE_NO_FSYNC=1: a throw-away test server that loses commits on a crash; `hotline up`
# refuses to run on one (hotline.infra.postgres.refuse_non_durable)
UNSAFE_NO_FSYNC = "fsync = off\nsynchronous_commit = off\nfull_page_writes = off"

INSTALL_HINT = (
    "install Debian's package `postgresql` (apt-get install postgresql; `make setup` does it "
    "as root), or point DATABASE_URL at a server of your own"
)


def find_bin_dir() -> Path:
    """The folder of pg_ctl/initdb/postgres: $PG_BIN, PATH, or the newest /usr/lib/postgresql/N."""
    override = os.environ.get("PG_BIN")
    if override and Path(override, "pg_ctl").is_file():
        return Path(override)
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    if not candidates:
        raise InfraError(f"PostgreSQL server programs (pg_ctl) not found: {INSTALL_HINT}")

    def major(path: str) -> int:
        try:
            return int(Path(path).parts[-3])
        except ValueError:
            return 0

    return Path(max(candidates, key=major)).parent


@dataclass(frozen=True)
class PostgresStatus:
    running: bool
    pid: int | None
    address: str
    databases: tuple[str, ...]
    log_file: Path
    data_dir: Path


class PostgresServer:
    """Initialises, starts and stops the local server; as root it runs as the `postgres` user."""

    def __init__(self, settings: InfraSettings) -> None:
        self.settings = settings
        self.root = settings.postgres_data_root
        self.data_dir = self.root / "data"
        self.log_file = self.root / "postgres.log"
        self.socket_dir = self.root

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.postgres_port}"

    def url(self, database: str = DEFAULT_DATABASE, driver: str = "asyncpg") -> str:
        s = self.settings
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{s.postgres_user}:{s.postgres_password}@{s.host}:{s.postgres_port}/{database}"

    # -- running as the right user ----------------------------------------------------------
    @staticmethod
    def _as_root() -> bool:
        return os.geteuid() == 0

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(find_bin_dir() / program), *args]
        if self._as_root():
            # postgres refuses to run as root; runuser needs no password and no terminal.
            return ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._command(program, *args),
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
        )

    def _own(self, path: Path) -> None:
        if self._as_root():
            shutil.chown(path, user="postgres", group="postgres")

    # -- state -----------------------------------------------------------------------------
    @property
    def _marker(self) -> str:
        return str(self.data_dir)

    def pid(self) -> int | None:
        pid = read_pid(self.data_dir / "postmaster.pid")
        return pid if is_running(pid, self._marker) else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def status(self) -> PostgresStatus:
        return PostgresStatus(
            running=self.is_running(),
            pid=self.pid(),
            address=self.address,
            databases=DATABASES,
            log_file=self.log_file,
            data_dir=self.data_dir,
        )

    # -- life cycle ------------------------------------------------------------------------
    def _init_if_needed(self) -> None:
        if (self.data_dir / "PG_VERSION").is_file():
            return
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._own(self.root)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        password_file = self.root / "initdb.pw"
        password_file.write_text(self.settings.postgres_password + "\n")
        password_file.chmod(0o600)
        self._own(password_file)
        try:
            done = self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.settings.postgres_user,
                f"--pwfile={password_file}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            )
        finally:
            password_file.unlink(missing_ok=True)
        if done.returncode != 0:
            raise InfraError(f"initdb failed (exit {done.returncode})", (done.stdout + done.stderr)[-4000:])
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write("\ninclude_if_exists = 'hotline.conf'\n")
        log.info("postgres.initialised", data_dir=str(self.data_dir))

    def _write_conf(self) -> None:
        conf = self.data_dir / "hotline.conf"
        conf.write_text(
            SERVER_CONF.format(
                host=self.settings.host,
                port=self.settings.postgres_port,
                socket_dir=self.socket_dir,
                durability=UNSAFE_NO_FSYNC if self.settings.postgres_unsafe_no_fsync else DURABLE,
            )
        )
        self._own(conf)

    def start(self) -> bool:
        """Start the server, wait for a real query, create the databases.

        Returns False when it was already running (nothing started), True when started now.
        """
        if self.is_running():
            self._create_databases()
            return False
        find_bin_dir()
        if port_open(self.settings.host, self.settings.postgres_port):
            raise InfraError(
                f"{self.address} is taken by another process; stop it, or choose another port "
                "with HOTLINE_POSTGRES_PORT"
            )
        self._init_if_needed()
        self._write_conf()
        log.info("postgres.starting", address=self.address, data_dir=str(self.data_dir))
        done = self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(int(self.settings.postgres_start_timeout)),
        )
        if done.returncode != 0 or not self.is_running():
            raise InfraError(
                f"PostgreSQL did not start on {self.address} (pg_ctl exit {done.returncode}; log: {self.log_file})",
                "\n".join(p for p in (done.stdout.strip(), done.stderr.strip(), tail(self.log_file)) if p),
            )
        self._create_databases()
        log.info("postgres.ready", address=self.address, pid=self.pid())
        return True

    def _create_databases(self) -> None:
        try:
            run_coroutine(self._create_databases_async())
        except Exception as error:  # asyncpg's and the socket's errors share no base class
            raise InfraError(
                f"PostgreSQL on {self.address} runs but refused a query: {error!r}",
                tail(self.log_file),
            ) from error

    async def _create_databases_async(self) -> None:
        import asyncpg

        s = self.settings
        connection = await asyncpg.connect(
            host=s.host,
            port=s.postgres_port,
            user=s.postgres_user,
            password=s.postgres_password,
            database="postgres",
            timeout=10,
        )
        try:
            for name in DATABASES:
                exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
                if not exists:
                    await connection.execute(f'CREATE DATABASE "{name}"')
                    log.info("postgres.database_created", database=name)
        finally:
            await connection.close()

    def stop(self) -> bool:
        """Stop the server (fast shutdown; SIGKILL if it hangs); True if one was running."""
        pid = self.pid()
        if pid is None:
            return False
        log.info("postgres.stopping", pid=pid)
        done = self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30")
        if done.returncode != 0 and terminate(pid, self._marker, grace=10.0):
            log.warning("postgres.killed", pid=pid, reason=done.stderr.strip())
        return True


async def durability_of(url: str) -> dict[str, str]:
    """fsync, synchronous_commit and full_page_writes as the server at `url` (SQLAlchemy asyncpg URL) runs them."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
        timeout=10,
    )
    try:
        return {name: str(await connection.fetchval(f"SHOW {name}")) for name in DURABILITY_SETTINGS}
    finally:
        await connection.close()


DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


def refuse_non_durable(url: str) -> None:
    """InfraError unless the server commits durably: the product never runs on a server that loses commits."""
    try:
        found = run_coroutine(durability_of(url))
    except Exception as error:  # asyncpg's and the socket's errors share no base class
        raise InfraError(f"cannot read the durability settings of the PostgreSQL server: {error!r}") from error
    unsafe = sorted(name for name, value in found.items() if value == "off")
    if unsafe:
        raise InfraError(
            f"the PostgreSQL server runs with {', '.join(f'{n}=off' for n in unsafe)}: an accepted work order could be "
            "lost on a crash. It is a test server (HOTLINE_POSTGRES_UNSAFE_NO_FSYNC): stop it with `hotline infra "
            "down` and start again without that variable, or point DATABASE_URL at a durable server"
        )
