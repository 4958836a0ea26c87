"""Benchmarks of digest on generated data: `python bench/run.py` (see README, Benchmarks)."""
