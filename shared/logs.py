"""Structured logs for every service: JSON lines on stderr, personal data masked before rendering."""

from __future__ import annotations

import logging
import sys

import structlog

from shared.privacy import PersonalDataLogFilter, mask_log_record


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
        logging.Formatter(
            f'{{"service": "{service}", "logger": "%(name)s", "level": "%(levelname)s", "event": "%(message)s"}}'
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # the Kafka client is chatty at INFO about every rebalance step
    logging.getLogger("aiokafka").setLevel(max(numeric, logging.WARNING))
