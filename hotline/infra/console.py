"""Send structlog's output to stderr: the stdout of `infra up` and of benchmarks is for machines."""

from __future__ import annotations

import logging
import sys

import structlog


def log_to_stderr(level: int = logging.INFO) -> None:
    """Configure structlog for a command-line run, unless the program configured it already."""
    if not structlog.is_configured():
        structlog.configure(
            logger_factory=structlog.PrintLoggerFactory(sys.stderr),
            wrapper_class=structlog.make_filtering_bound_logger(level),
        )
