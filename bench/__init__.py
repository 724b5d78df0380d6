"""Benchmarks against the reference baselines: ``python -m bench`` (``make bench``)."""
