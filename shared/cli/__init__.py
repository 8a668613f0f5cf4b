"""The `hotline` command line: policy queries, local infrastructure, tokens, the whole system."""
