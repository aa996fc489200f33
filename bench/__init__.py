"""Benchmarks that print figures (not tests); each runs with `python -m bench.<name>`."""
