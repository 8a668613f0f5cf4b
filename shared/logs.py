"""Structured logs for every service: JSON lines on stderr, personal data masked before rendering.

Every line, whether from structlog or from a library that logs through the standard library
(aiokafka, Faust, uvicorn), carries `timestamp`, `level`, `service` and `role` (the process's
role: api, worker or all) and goes through the same masking (RULES.md §6).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from types import TracebackType
from typing import Any

import structlog

from shared.privacy import PersonalDataLogFilter, mask_log_record


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    logging.getLogger("uncaught").critical("process failed: %s", error, exc_info=(kind, error, trace))


def _stdlib_exception(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # a standard-library record's traceback, already rendered and masked into exc_text by PersonalDataLogFilter
    record = event_dict.get("_record")
    text = getattr(record, "exc_text", None)
    if text and "exception" not in event_dict:
        event_dict["exception"] = text
    return event_dict


def _process_fields(service: str, role: str) -> structlog.typing.Processor:
    def add(logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        # fixed per process, so a cleared request context can never drop them
        event_dict.setdefault("service", service)
        event_dict["role"] = role
        return event_dict

    return add


def configure_logging(service: str, level: str = "INFO", *, json: bool = True, role: str = "all") -> None:
    """Route structlog and the standard library through one pipeline that masks personal data (RULES.md §6)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _process_fields(service, role),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        mask_log_record,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(PersonalDataLogFilter())
    # stdlib records (aiokafka, Faust, uvicorn) rendered by the same chain: JSON, timestamped
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[_stdlib_exception, structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # a crash that escapes every handler is a log record too, not a bare traceback on stderr
    sys.excepthook = _log_uncaught
    root.setLevel(numeric)
    # the Kafka client is chatty at INFO about every rebalance step
    logging.getLogger("aiokafka").setLevel(max(numeric, logging.WARNING))
    # Faust and mode log through their own named loggers; they must not bypass the root handler
    for name in ("faust", "mode", "uvicorn", "uvicorn.error", "uvicorn.access"):
        library = logging.getLogger(name)
        library.handlers[:] = []
        library.propagate = True
