"""Speed and scale benchmarks of qa (scripts, not tests): ``make bench`` / ``python -m benchmarks.run``."""
