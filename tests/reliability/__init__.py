"""Helpers of the reliability and security suite (issue 7): small corpora, fault injection,
a hostile launcher for the web app, load generators and the figures script.

Nothing here is imported by ``qa``; the tests import it as ``reliability.*`` (``tests/`` is on
``sys.path`` under pytest) and the scripts run as ``python -m`` or by path.
"""
