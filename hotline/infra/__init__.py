"""Local Apache Kafka (KRaft) and PostgreSQL servers for development and tests, on loopback."""

from hotline.infra.harness import Endpoints, InfraError, ensure_up, infra_status, stop_all
from hotline.infra.settings import InfraSettings

__all__ = ["Endpoints", "InfraError", "InfraSettings", "ensure_up", "infra_status", "stop_all"]
