"""The four hotline services; each is independent and talks to the others only through Kafka topics."""
