"""The `hotline` command line and local orchestration: policy queries, infrastructure, tokens, services."""
