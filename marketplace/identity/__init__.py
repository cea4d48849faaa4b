"""Identification codes (PROTOCOL.md §2) and the region codes they refer to."""
