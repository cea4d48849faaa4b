"""A small per-process cache with expiry, one per app (so in-process test nodes never share one)."""

import threading
import time
from collections.abc import Callable

from flask import current_app


class TTLCache:
    """Values that expire after `ttl` seconds; thread-safe for gunicorn's threads."""

    def __init__(self, ttl: float, max_items: int = 10_000):
        self.ttl, self.max_items = ttl, max_items
        self._items: dict = {}
        self._lock = threading.Lock()

    def get(self, key, compute: Callable[[], object]):
        """The cached value of `key`, computing and keeping it when missing or expired."""
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = compute()
        with self._lock:
            if len(self._items) >= self.max_items:
                self._items.clear()  # bounded memory beats perfect hit rates here
            self._items[key] = (now + self.ttl, value)
        return value

    def drop(self, key) -> None:
        with self._lock:
            self._items.pop(key, None)


def app_cache(name: str, ttl: float) -> TTLCache:
    """The current app's cache called `name`."""
    caches = current_app.extensions.setdefault("federation_caches", {})
    if name not in caches:
        caches[name] = TTLCache(ttl)
    return caches[name]
