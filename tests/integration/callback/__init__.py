"""Integration tests of the callback service against real Kafka and PostgreSQL."""
