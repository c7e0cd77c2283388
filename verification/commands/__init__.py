"""One module per ``dynmem`` subcommand."""
