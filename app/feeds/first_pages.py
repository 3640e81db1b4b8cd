"""The first page of each person's home feed, remembered by each process: the page most often asked
for, and the dearest query the database answers for it.

A remembered page is the ids, sort keys and revisions its query found (the posts themselves come
from app/posts/revisions.py). It is used only while all of these hold:
- the viewer's query would be the same: the same authors (follows, blocks and mutes live on the
  user document, read at every request) and the same page size;
- the viewer has written nothing since (their `activity`): their own like, post, edit or deletion
  shows on their very next request, in every process;
- no change to a post of those authors that could touch the page reached this process since it was
  made (app/posts/changes.py, asked at most every half second): others' likes, new posts,
  hides and deletions show within about a second (a process that lost track of the changes, after
  minutes without asking, forgets every page);
- it is younger than its own lifetime, PAGE_SECONDS or up to half as long again (spread, so pages
  made together, as after a restart, are not all read again at once), whatever else happened: the
  bound on a change no note was left for (a process stopped between its write and the note).
"""
import itertools
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bson import ObjectId

from app.core.db import MongoDatabase
from app.posts.changes import PostChange, PostChanges

PAGE_SECONDS = 60.0
REMEMBERED_PAGES = 5_000
APPLIED_KEPT = 10_000  # changes handed on lately, for pages whose query ran meanwhile
type PageKey = tuple[ObjectId, int]
type Stubs = tuple[list[dict], str | None]


@dataclass
class _Page:
    stubs: list[dict]
    next_cursor: str | None
    authors: frozenset
    activity: int
    expires_at: float  # monotonic
    ids: set = field(init=False)

    def __post_init__(self) -> None:
        self.ids = {stub["_id"] for stub in self.stubs}

    def touched_by(self, change: PostChange) -> bool:
        """Whether the change may alter the page: one of its posts changed, or one of its authors'
        published posts now belongs among them (newer than its last, or the page is not full)."""
        if change.post_id in self.ids:
            return True
        if not change.published or change.author_id not in self.authors:
            return False
        return self.next_cursor is None or change.created_at is None or change.created_at >= self.stubs[-1]["created_at"]


class FirstPages:
    def __init__(self) -> None:
        self._pages: OrderedDict[PageKey, _Page] = OrderedDict()
        self._by_author: dict[ObjectId, set[PageKey]] = {}
        self._changes = PostChanges()
        self._applied: deque[tuple[int, PostChange]] = deque()
        self._applied_count = 0
        self._lock = threading.Lock()

    def page(self, db: MongoDatabase, viewer_id: ObjectId, limit: int, authors: list, activity: int,
             query: Callable[[], Stubs]) -> Stubs:
        """The viewer's first page of `limit` posts by `authors`: remembered, or `query()` run and remembered."""
        key, wanted = (viewer_id, limit), frozenset(authors)
        with self._lock:
            self._catch_up(db)
            remembered = self._pages.get(key)
            if (remembered is not None and remembered.authors == wanted and remembered.activity == activity
                    and time.monotonic() < remembered.expires_at):
                self._pages.move_to_end(key)
                return list(remembered.stubs), remembered.next_cursor
            started_after = self._applied_count
        stubs, next_cursor = query()
        lifetime = PAGE_SECONDS * random.uniform(1, 1.5)  # nosec B311  # spreads expiries, guards nothing
        made = _Page(stubs, next_cursor, wanted, activity, time.monotonic() + lifetime)
        with self._lock:
            # A change handed on while the query ran may postdate what it read: keep no such page.
            since = itertools.takewhile(lambda applied: applied[0] > started_after, reversed(self._applied))
            if not any(made.touched_by(change) for _, change in since):
                self._remember(key, made)
        return list(stubs), next_cursor

    def _catch_up(self, db: MongoDatabase) -> None:
        changes = self._changes.catch_up(db)
        if not changes.complete:
            self._pages.clear()
            self._by_author.clear()
        for change in changes.posts:
            self._applied_count += 1
            self._applied.append((self._applied_count, change))
            # A deletion names no author: it can only be on pages that show it.
            for key in list(self._by_author.get(change.author_id, ()) if change.author_id else self._pages):
                page = self._pages.get(key)
                if page is not None and page.touched_by(change):
                    self._forget(key)
        while len(self._applied) > APPLIED_KEPT:
            self._applied.popleft()

    def _remember(self, key: PageKey, page: _Page) -> None:
        self._forget(key)
        self._pages[key] = page
        for author in page.authors:
            self._by_author.setdefault(author, set()).add(key)
        while len(self._pages) > REMEMBERED_PAGES:
            self._forget(next(iter(self._pages)))

    def _forget(self, key: PageKey) -> None:
        page = self._pages.pop(key, None)
        if page is None:
            return
        for author in page.authors:
            keys = self._by_author.get(author)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_author[author]
