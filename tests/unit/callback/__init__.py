"""Unit tests of the callback service."""
