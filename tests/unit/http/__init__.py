"""Unit tests of the shared HTTP app factory and its hygiene."""
