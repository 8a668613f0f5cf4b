"""The single writer of new work orders in an API process: concurrent creates share one transaction and one commit.

A work order's daily number is gapless (one number per work order, none skipped): the branch-day counter row stays
locked from the moment a number is taken until the transaction ends, so two transactions that number work orders of
one branch run one after the other, and with durable commits each waits for the other's WAL flush (~4 ms on this
machine's disk): about 250 creates/s per branch at most, whatever the number of cores. Here the creates that arrive
while a commit is under way wait for the next batch: one transaction numbers them all and one commit (one WAL flush)
makes them all durable before any of them is answered. The batch is first written as a whole, one flush and so one
statement per table (issue 24: no SAVEPOINT, RELEASE and flush per create); should a create be refused before the
commit, nothing is written and the batch runs again with each create in a SAVEPOINT of its own (the refused one is
rolled back alone, its number with it, so the numbers stay gapless). With no concurrency a batch is one create,
exactly as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
from prometheus_client import Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = structlog.get_logger(__name__)

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[Any]]

BATCH_SIZE = Histogram(
    "hotline_intake_create_batch_size",
    "Work orders written by one transaction of the API's single writer",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


@dataclass
class _Job(Generic[T]):
    work: Callable[[AsyncSession], Awaitable[T]]
    done: asyncio.Future[T]


@dataclass
class CreateWriter:
    """Runs submitted creates in batches: one transaction, a savepoint each, one commit; answers after the commit."""

    sessions: async_sessionmaker[AsyncSession]
    max_batch: int = 64
    _queue: asyncio.Queue[_Job[Any]] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None

    async def submit(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work(session)` inside the batch's transaction; its result once committed, or its own error."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="intake-create-writer")
        job: _Job[T] = _Job(work, asyncio.get_running_loop().create_future())
        await self._queue.put(job)
        return await job.done

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write(batch)

    async def _write(self, batch: list[_Job[Any]]) -> None:
        live = [job for job in batch if not job.done.cancelled()]  # a cancelled client is not written
        if len(live) > 1 and await self._write_together(live):
            return
        results: list[tuple[_Job[Any], Any]] = []
        failed: list[tuple[_Job[Any], BaseException]] = []
        try:
            async with self.sessions() as session, session.begin():
                if len(live) == 1:  # alone: its own transaction, no savepoint needed
                    results.append((live[0], await live[0].work(session)))
                for job in live if len(live) > 1 else ():
                    try:
                        async with session.begin_nested():
                            results.append((job, await job.work(session)))
                    except Exception as refused:  # this create alone is rolled back, its number with it
                        failed.append((job, refused))
        except Exception as error:  # the commit failed: nothing of the batch is written, nobody is told otherwise
            log.warning("create_batch_failed", size=len(batch), error=repr(error))
            for job in batch:
                if not job.done.done():
                    job.done.set_exception(error)
            return
        self._answer(results, failed)

    async def _write_together(self, live: list[_Job[Any]]) -> bool:
        """The usual case: the whole batch in one transaction without savepoints and one flush at the end, so each
        table's rows go out in one statement (no SAVEPOINT/RELEASE and flush per create). False, with nothing
        written, when a create was refused before the commit: the batch is then written again a savepoint each, so
        that the refused one is rolled back alone. A failed commit fails the batch, as in `_write`."""
        results: list[tuple[_Job[Any], Any]] = []
        async with self.sessions() as session:
            transaction = await session.begin()
            try:
                with session.no_autoflush:
                    for job in live:
                        results.append((job, await job.work(session)))
                await session.flush()
            except Exception as refused:
                await transaction.rollback()
                log.info("create_batch_written_again_one_by_one", size=len(live), error=repr(refused))
                return False
            try:
                await transaction.commit()
            except Exception as error:  # nothing of the batch is known to be written: nobody is told otherwise
                log.warning("create_batch_failed", size=len(live), error=repr(error))
                for job in live:
                    if not job.done.done():
                        job.done.set_exception(error)
                return True
        self._answer(results, [])
        return True

    @staticmethod
    def _answer(results: list[tuple[_Job[Any], Any]], failed: list[tuple[_Job[Any], BaseException]]) -> None:
        BATCH_SIZE.observe(len(results))
        for job, result in results:
            if not job.done.done():
                job.done.set_result(result)
        for job, refusal in failed:
            if not job.done.done():
                job.done.set_exception(refusal)
