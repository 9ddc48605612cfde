"""Benchmarks of the receive and send paths (see docs/performance.md).

``python -m benchmarks`` runs them all; ``--quick`` runs a small version in
under a minute. Nothing here is imported by the ``realtime_sync`` package.
"""
