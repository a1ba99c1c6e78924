"""The benchmark suite: `python -m benchmarks [--quick] [--full] [--json FILE]`."""
