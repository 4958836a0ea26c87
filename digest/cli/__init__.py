"""The command line: `digest [--site DIR] COMMAND`."""

from digest.cli.main import main

__all__ = ["main"]
