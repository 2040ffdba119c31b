"""Benchmarks: each prints figures against a reference run in the same process."""
