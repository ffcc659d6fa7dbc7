"""Performance scripts: run as ``python -m tests.benchmarks.<name>``; they print figures."""
