"""HTTP hygiene shared by every service: app factory, errors, headers, health and metrics."""
