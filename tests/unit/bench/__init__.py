"""Unit tests of the benchmark suite's plumbing (no figure is ever asserted)."""
