"""`hotline simulate`: seeded traffic through the public APIs, and the SLA report of what the system published."""
