"""``python -m qa`` is the ``qa`` command."""
from qa.cli import main

if __name__ == "__main__":  # Dask's worker processes start by spawning, which re-imports this module
    raise SystemExit(main())
