"""Numbers only: per-measure status, statistical process control, staleness."""
