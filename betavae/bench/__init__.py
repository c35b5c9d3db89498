"""Benchmarks: ``python -m betavae.bench {ops,data,train}`` (see ``--help``)."""
