"""`hotline deadletter list | show | replay`: why a message was given up, and sending it back after a fix.

Letters are read from the dead-letter topic without a consumer group (nothing is committed,
nothing is removed). A letter is named by `partition:offset` on that topic. Replay sends the
original bytes, with the original key, to the topic they came from: consumers are idempotent on
`event_id`, so replaying a letter twice, or one whose event was handled meanwhile, acts once.
Output is masked (RULES.md §6): the letters hold the original bytes, personal data included.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(help="Dead letters: list, show, replay.", no_args_is_help=True)

BootstrapOption = Annotated[str | None, typer.Option("--bootstrap", help="Kafka bootstrap (default: settings)")]
TopicOption = Annotated[str, typer.Option("--topic", help="the dead-letter topic")]


def fail(argument: str, message: str) -> NoReturn:
    typer.echo(f"hotline: error: {argument}: {message}", err=True)
    raise typer.Exit(2)


@dataclass(frozen=True)
class Letter:
    partition: int
    offset: int
    record: Any  # shared.events.DeadLetter

    @property
    def name(self) -> str:
        return f"{self.partition}:{self.offset}"


def _bootstrap(value: str | None) -> str:
    from shared.runtime import ServiceSettings

    return value or ServiceSettings().kafka_bootstrap


async def read_letters(bootstrap: str, topic: str) -> list[Letter]:
    """Every letter on the topic, oldest first per partition (up to the end offsets at the start)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from pydantic import ValidationError

    from shared.events import decode_dead_letter

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    letters: list[Letter] = []
    try:
        cluster = await consumer._client.fetch_all_metadata()  # a group-less consumer tracks no topics itself
        partitions = [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
        if not partitions:
            raise LookupError(f"topic {topic} does not exist")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while await behind():
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    try:
                        letters.append(Letter(tp.partition, record.offset, decode_dead_letter(record.value or b"")))
                    except ValidationError:
                        continue  # not a letter this tool wrote; nothing to replay
    finally:
        await consumer.stop()
    return letters


def _matches(letter: Letter, service: str | None, reason: str | None, since: datetime | None) -> bool:
    record = letter.record
    return (
        (service is None or service in record.consumer)
        and (reason is None or record.reason.value == reason)
        and (since is None or record.failed_at >= since)
    )


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail("--since", f"{text!r} is not an ISO-8601 instant")
    if value.tzinfo is None:
        fail("--since", "needs a UTC offset, like 2026-11-27T10:00:00+08:00")
    return value


def _load(bootstrap: str | None, topic: str) -> list[Letter]:
    try:
        return asyncio.run(read_letters(_bootstrap(bootstrap), topic))
    except LookupError as error:
        fail("--topic", str(error))
    except Exception as error:  # an unreachable broker is an answer for ops, not a traceback
        typer.echo(f"hotline: cannot read {topic}: {type(error).__name__}: {error}", err=True)
        raise typer.Exit(1) from None


@app.command("list")
def list_letters(
    service: Annotated[str | None, typer.Option(help="only letters of this consumer (e.g. dispatch)")] = None,
    reason: Annotated[
        str | None, typer.Option(help="malformed, unknown_type, unsupported_version, invalid, handler_failed")
    ] = None,
    since: Annotated[str | None, typer.Option(help="only letters given up at or after this instant")] = None,
    bootstrap: BootstrapOption = None,
    topic: TopicOption = "hotline.deadletter",
) -> None:
    """One line per letter: name, when, consumer, reason, source topic, event type, error."""
    from shared.events import DeadLetterReason
    from shared.privacy import mask_text

    if reason is not None and reason not in {r.value for r in DeadLetterReason}:
        fail("--reason", f"{reason!r} is not one of {', '.join(r.value for r in DeadLetterReason)}")
    wanted = [x for x in _load(bootstrap, topic) if _matches(x, service, reason, _since(since))]
    for letter in wanted:
        r = letter.record
        typer.echo(
            f"{letter.name}\t{r.failed_at.isoformat()}\t{r.consumer}\t{r.reason.value}\t{r.source_topic}\t"
            f"{r.event_type or '-'}\t{mask_text(r.error.splitlines()[0] if r.error else '')[:160]}"
        )
    typer.echo(f"{len(wanted)} letter(s)", err=True)


def _find(letters: list[Letter], name: str) -> Letter:
    for letter in letters:
        if letter.name == name:
            return letter
    fail("LETTER", f"no letter {name} (names are partition:offset, as `hotline deadletter list` prints them)")


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(metavar="LETTER", help="partition:offset")],
    bootstrap: BootstrapOption = None,
    topic: TopicOption = "hotline.deadletter",
) -> None:
    """The letter as JSON: why it was given up, and the original message, masked."""
    from shared.privacy import mask_data

    letter = _find(_load(bootstrap, topic), name)
    body: dict[str, Any] = letter.record.model_dump(mode="json", exclude={"original_b64", "original_key_b64"})
    try:
        body["original"] = json.loads(letter.record.original)
    except ValueError:
        body["original"] = letter.record.original.decode("utf-8", errors="replace")
    typer.echo(json.dumps(mask_data(body), ensure_ascii=False, indent=2))


async def _send(bootstrap: str, letters: list[Letter]) -> None:
    from shared.bus import make_producer

    producer = make_producer(bootstrap, "hotline-deadletter-replay")
    await producer.start()
    try:
        for letter in letters:
            await producer.send_and_wait(
                letter.record.source_topic, letter.record.original, key=letter.record.message_key
            )
    finally:
        await producer.stop()


@app.command("replay")
def replay(
    names: Annotated[list[str] | None, typer.Argument(metavar="[LETTER]...", help="partition:offset")] = None,
    service: Annotated[str | None, typer.Option(help="every letter of this consumer")] = None,
    reason: Annotated[str | None, typer.Option(help="every letter with this reason")] = None,
    since: Annotated[str | None, typer.Option(help="every letter given up at or after this instant")] = None,
    bootstrap: BootstrapOption = None,
    topic: TopicOption = "hotline.deadletter",
) -> None:
    """Send letters back to their source topic (after the fix); consumers act once per event_id."""
    letters = _load(bootstrap, topic)
    if names:
        chosen = [_find(letters, n) for n in names]
    elif service or reason or since:
        chosen = [x for x in letters if _matches(x, service, reason, _since(since))]
    else:
        fail("LETTER", "name letters, or select them with --service, --reason or --since")
    asyncio.run(_send(_bootstrap(bootstrap), chosen))
    for letter in chosen:
        typer.echo(f"replayed {letter.name} to {letter.record.source_topic}")
