"""Where the local servers listen and keep their files; every value can be set from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Non-default ports, so a developer's own Kafka or PostgreSQL on the usual ports is left alone.
DEFAULT_KAFKA_PORT = 19092
DEFAULT_KAFKA_CONTROLLER_PORT = 19093
DEFAULT_POSTGRES_PORT = 15432


def _xdg_dir(variable: str, fallback: str) -> Path:
    base = os.environ.get(variable)
    return Path(base) if base else Path.home() / fallback


def default_state_dir() -> Path:
    return _xdg_dir("XDG_STATE_HOME", ".local/state") / "hotline" / "infra"


def default_cache_dir() -> Path:
    return _xdg_dir("XDG_CACHE_HOME", ".cache") / "hotline"


class InfraSettings(BaseSettings):
    """Settings of `hotline infra`; environment variables are the field names prefixed HOTLINE_."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", frozen=True)

    host: str = "127.0.0.1"
    infra_state_dir: Path = Field(default_factory=default_state_dir)
    cache_dir: Path = Field(default_factory=default_cache_dir)

    kafka_port: int = DEFAULT_KAFKA_PORT
    kafka_controller_port: int = DEFAULT_KAFKA_CONTROLLER_PORT
    # 1 GiB is the release scripts' default and leaves most of a 24 GB machine to the tests.
    kafka_heap: str = "1g"
    kafka_start_timeout: float = 120.0

    postgres_port: int = DEFAULT_POSTGRES_PORT
    postgres_user: str = "hotline"
    # the private loopback-only development server made by `hotline infra up`, not a production secret
    postgres_password: str = "hotline"  # noqa: S105
    # PostgreSQL refuses to run as root, so as root its files must be reachable by the
    # `postgres` OS user; a home folder of mode 0700 is not, hence a folder under /var/lib.
    postgres_dir: Path | None = None
    postgres_start_timeout: float = 60.0
    # tests only, never `hotline up`: fsync, synchronous_commit and full_page_writes off (commits lost on a crash)
    postgres_unsafe_no_fsync: bool = False

    @property
    def kafka_dir(self) -> Path:
        return self.infra_state_dir / "kafka"

    @property
    def postgres_data_root(self) -> Path:
        if self.postgres_dir is not None:
            return self.postgres_dir
        if os.geteuid() == 0:
            return Path("/var/lib/hotline/infra/postgres")
        return self.infra_state_dir / "postgres"
