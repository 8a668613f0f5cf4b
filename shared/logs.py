"""Structured logs for every service: JSON lines on stderr, personal data masked before rendering."""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from datetime import UTC, datetime
from types import TracebackType

import structlog

from shared.privacy import PersonalDataLogFilter, mask_log_record


class JsonLineFormatter(logging.Formatter):
    """A standard-library record (Faust's table banners, uvicorn, alembic) as one JSON line like structlog's."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "service": self.service,
            "logger": record.name,
            "level": record.levelname.lower(),
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat().replace("+00:00", "Z"),
            # a multi-line message (a table banner) stays one line: json escapes its newlines
            "event": record.getMessage(),
        }
        # the personal-data filter has rendered (and masked) the traceback into exc_text already
        if record.exc_text or record.exc_info:
            line["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return jsonlib.dumps(line, ensure_ascii=False, default=str)


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    logging.getLogger("uncaught").critical("process failed: %s", error, exc_info=(kind, error, trace))


def configure_logging(service: str, level: str = "INFO", *, json: bool = True) -> None:
    """Route structlog and the standard library through one pipeline that masks personal data (RULES.md §6)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            mask_log_record,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(PersonalDataLogFilter())
    handler.setFormatter(
        JsonLineFormatter(service) if json else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # a crash that escapes every handler is a log record too, not a bare traceback on stderr
    sys.excepthook = _log_uncaught
    root.setLevel(numeric)
    # the Kafka client is chatty at INFO about every rebalance step
    logging.getLogger("aiokafka").setLevel(max(numeric, logging.WARNING))
