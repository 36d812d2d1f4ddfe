"""Reproducible performance measurements (not run as tests): ``python -m benchmarks.<name>``."""
