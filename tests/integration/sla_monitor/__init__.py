"""Integration tests of the SLA monitor against a real Kafka broker, with real worker processes."""
