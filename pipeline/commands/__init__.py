"""The ``n2n`` subcommands, one module each; every module registers itself."""
