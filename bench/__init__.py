"""Benchmarks: bounded in count and time, printing JSON; each has a function a CLI can call."""
