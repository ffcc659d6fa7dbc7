"""Pairwise's provider benchmark: times real image-generation requests and records them.

Runs without Django: httpx (async) for the providers, SQLAlchemy Core on the
tables that Django's migrations own, pandas for the statistics. Entry points:

- ``python -m bench run|probe|simulate|stats`` (``bench.cli.main``),
- ``bench.runner.run_benchmark`` to fill the database from code,
- ``bench.providers.generate`` to call one provider without any database,
- ``bench.simulator.serve_in_thread`` for a loopback provider,
- ``bench.stats`` for per-offering statistics.

Importing this package imports nothing heavy and never Django.
"""
