"""`hotline topics list|apply`: every topic of the product declared once (hotline.topics) and applied by a job."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from aiokafka.errors import KafkaError

from hotline.topics import apply_topics, declared_topics
from shared.runtime import ServiceSettings
from shared.topics import TopicsNotReady

app = typer.Typer(help="Topics as code: list the declared topics, or create and correct them on a cluster.")

Partitions = Annotated[int | None, typer.Option("--partitions", min=1, help="default: HOTLINE_PARTITIONS (6)")]
Replication = Annotated[
    int, typer.Option("--replication-factor", min=1, envvar="HOTLINE_REPLICATION_FACTOR", help="3 on a cluster")
]


@app.command("list")
def list_topics(partitions: Partitions = None, replication_factor: Replication = 1) -> None:
    """Print every declared topic: name, partitions, configs."""
    for name, spec in sorted(declared_topics(partitions or ServiceSettings().partitions, replication_factor).items()):
        configs = " ".join(f"{key}={value}" for key, value in sorted(spec.config.items()))
        typer.echo(f"{name}\t{spec.partitions}\t{configs}".rstrip())


@app.command()
def apply(
    bootstrap: Annotated[str | None, typer.Option("--bootstrap", help="default: KAFKA_BOOTSTRAP")] = None,
    partitions: Partitions = None,
    replication_factor: Replication = 1,
    check: Annotated[bool, typer.Option("--check", help="change nothing; exit 1 if anything differs")] = False,
) -> None:
    """Create the missing topics and set every topic's configs as declared (idempotent: run it on each upgrade)."""
    settings = ServiceSettings()
    wanted = declared_topics(partitions or settings.partitions, replication_factor)
    try:
        rows = asyncio.run(
            apply_topics(
                bootstrap or settings.kafka_bootstrap, wanted, replication_factor=replication_factor, check_only=check
            )
        )
    except (KafkaError, TopicsNotReady, OSError) as error:
        typer.echo(f"hotline: error: topics not applied: {error}", err=True)
        raise typer.Exit(1) from None
    for row in rows:
        typer.echo(f"{row.name}\t{row.partitions}\t{row.action}")
    if check and rows:
        raise typer.Exit(1)
