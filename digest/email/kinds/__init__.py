"""One module per digest kind, registered in one table."""
