"""Helpers that run real services for the tests and benchmarks (no fakes)."""
