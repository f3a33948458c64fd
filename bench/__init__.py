"""Carnet's benchmarks: each `bench/bench_*.py` module has a `main()` that builds its data,
measures, and prints its figures. `python -m bench [NAME ...]` (or `make bench`) runs them."""
