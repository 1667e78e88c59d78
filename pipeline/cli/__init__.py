"""The ``n2n`` subcommands, one module each (the table is in :mod:`pipeline.cli.main`)."""
