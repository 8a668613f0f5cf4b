"""One module per `hotline` sub-command group."""
