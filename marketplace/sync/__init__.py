"""Listing sync across the federation (PROTOCOL.md §6): outbox, signed events, push, pull, reconcile."""
