"""Benchmark scripts that print figures (``python -m tests.benchmarks.<name>``); not tests."""
