"""Trading at the origin: capacity over time, quotes, holds and orders (PROTOCOL.md §8)."""
