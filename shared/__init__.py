"""The gas hotline's shared package: event contract, policy engine, config and infrastructure helpers."""
