"""The web console: the agents' workspace and the callback desk, a backend for the browser (issue 16)."""
