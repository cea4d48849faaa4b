"""Sync tests run on the in-process federation of tests/multinode.py."""
