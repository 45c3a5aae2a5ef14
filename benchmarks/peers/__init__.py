"""Adapters and helpers for benchmarks/compare_peers.py (not part of the policylang package)."""
