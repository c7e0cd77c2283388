"""One module per ``dynmem`` subcommand, each with ``register(subparsers)``."""

__all__: list[str] = []
