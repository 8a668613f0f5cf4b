"""Unit tests of the SLA monitor: pure timer logic and the Faust agent in test contexts."""
