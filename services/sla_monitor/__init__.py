"""SLA monitor: timers per ticket and clock; warnings, breaches and escalations."""
