"""What a process keeps in memory across requests: the `size` entries used most recently, by key.

Every per-process cache of the app is one of these (held posts, their presented shape, what each
viewer liked, a shareable post's photo files); what makes an entry valid is the caller's to check.
"""
import threading
from collections import OrderedDict
from collections.abc import Hashable


class Recent[K: Hashable, V]:
    """Safe to share between threads: each call holds the lock only for its own step. Values are
    handed out as they are: callers keep them unchanged, or put a new value instead."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def discard(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
