"""The gunicorn worker Glimpse's web processes run (run.py): gunicorn's threaded worker, stopping as a
job runner must, and sharing connections out evenly between the processes.

Why the sharing: a kept-alive connection stays with the process that accepted it, and which one
that is was left to chance (whichever woke first). Eight connections opened together were split
4/4, 3/5, 2/6 or even 8/0; each process runs Python on one core at a time, so the connections of
the fuller one waited two to three times as long (thumbnails at 8 connections: p99 12.5 ms split
4/4, 22 ms split 1/7). A reverse proxy's pool of kept-alive connections meets the same chance.

So, as Node's cluster module and Envoy's connection balancer do, each process publishes how many
connections it has in use, in memory the master shares with every worker it forks, and

- a process holding more than another leaves a new connection to the others; one that is not
  taken within ACCEPT_PATIENCE (the other's threads all held by slow requests, say) it takes
  after all: balance must never strand a connection;
- a process holding clearly more than another (two more, and a quarter more) answers one request
  with "Connection: close" now and then (HAND_OVER_SPACING): the client opens a new connection,
  which the other takes. What chance decided when the connections opened (a burst, a process
  busy for a moment) thus mends itself, at the cost of one reconnect.
"""
import ctypes
import multiprocessing
import threading
import time
from bisect import bisect_right
from types import FrameType

from flask import Flask
from gunicorn.arbiter import Arbiter
from gunicorn.http.message import Request
from gunicorn.workers.gthread import TConn, ThreadWorker

from app.core.jobs.worker import WorkerPool

# Web processes at once, counting a replacement forked while the one it replaces stops (one forked
# beyond them does not share connections out). Every request reads them all: few, then.
SLOTS = 64
FREE = -1  # a slot no accepting process holds
# A connection answered this recently is in use: a busy one sits between requests for a moment, and
# one idle for longer (a browser's between pages, a proxy's spare) costs nothing.
IN_USE_SECONDS = 0.5
# How long a fuller process leaves a waiting connection to the others before taking it itself, and
# how often it looks meanwhile.
ACCEPT_PATIENCE = 0.1
RECHECK_SECONDS = 0.002
# Time for a closed connection's successor to be taken and counted before another is handed over.
HAND_OVER_SPACING = 0.25


class ConnectionCounts:
    """How many connections each web process has in use, one slot each, in memory shared across fork."""

    def __init__(self) -> None:
        self._counts = multiprocessing.RawArray(ctypes.c_int, [FREE] * SLOTS)

    def unused_slot(self, taken: set[int | None]) -> int | None:
        return next((slot for slot in range(SLOTS) if slot not in taken), None)

    def publish(self, slot: int, count: int) -> None:
        """Only the slot's own process writes it (the master frees it once that process is gone)."""
        self._counts[slot] = count

    def held(self, slot: int) -> int:
        return self._counts[slot]

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections another accepting process has in use; None when there is none."""
        return min((count for other, count in enumerate(self._counts) if other != slot and count != FREE), default=None)


def job_pool(worker: ThreadWorker) -> WorkerPool | None:
    """The worker's job threads; None until its app has started them."""
    app: Flask | None = getattr(worker, "wsgi", None)
    return app.extensions.get("glimpse_workers") if app is not None else None


class GlimpseWorker(ThreadWorker):
    """gunicorn's threaded worker, which also

    - stops its job threads claiming as soon as it is told to stop (not once its requests are done:
      another worker would take the jobs this one hands back), and makes every stop the graceful
      one: the quick stop (Ctrl-C, SIGQUIT) raises SystemExit wherever the worker is, at each
      signal, and one arriving as the jobs are handed back would cut that short;
    - shares connections out with the other processes (see the module's docstring). Its counts
      are worked out and published on the main thread, which alone changes its connections; request
      threads read only what is published."""

    counts: ConnectionCounts | None = None  # given by the master before it forks (`assign_slot`)
    slot: int | None = None
    _leaving_since: float | None = None  # since when a waiting connection has been left to the others
    _impatient = False  # it was left too long: the next one is taken whatever the counts say
    hand_over_lock: threading.Lock
    _handed_over_at = 0.0

    @staticmethod
    def assign_slot(arbiter: Arbiter, worker: "GlimpseWorker") -> None:
        """gunicorn's pre_fork hook (in the master): the counts, made once, and a slot no live worker holds."""
        counts = getattr(arbiter, "connection_counts", None) or ConnectionCounts()
        arbiter.connection_counts = counts
        worker.counts, worker.slot = counts, counts.unused_slot({other.slot for other in arbiter.WORKERS.values()})

    @staticmethod
    def free_slot(_arbiter: Arbiter, worker: "GlimpseWorker") -> None:
        """gunicorn's child_exit hook (in the master): the worker is gone, its count with it."""
        if worker.counts is not None and worker.slot is not None:
            worker.counts.publish(worker.slot, FREE)

    def init_process(self) -> None:
        self.hand_over_lock = threading.Lock()
        super().init_process()  # runs the worker until it stops

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.alive and (pool := job_pool(self)):
            pool.stop_claiming()
        super().handle_exit(sig, frame)

    handle_quit = handle_exit

    def _in_use(self) -> int:
        # Kept-alive connections queue up in the order they were answered (their timeouts ascend): a
        # binary search finds the long idle ones among thousands.
        idle_until = time.monotonic() + self.cfg.keepalive - IN_USE_SECONDS  # the timeout of one answered then
        idle = bisect_right(self.keepalived_conns, idle_until, key=lambda conn: conn.timeout)
        return self.nr_conns - len(self.pending_conns) - idle

    def _publish(self) -> None:
        if self.counts is not None and self.slot is not None:
            self.counts.publish(self.slot, self._in_use() if self.alive else FREE)

    def _holds_more(self) -> bool:
        if self.counts is None or self.slot is None:
            return False
        fewest = self.counts.fewest_elsewhere(self.slot)
        return fewest is not None and self._in_use() > fewest

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self._leaving_since is None)

    def accept(self, listener) -> None:  # type: ignore[no-untyped-def]
        if not self._impatient and self._holds_more():
            self._leaving_since = time.monotonic()
            super().set_accept_enabled(False)
            return
        self._impatient = False
        super().accept(listener)
        self._publish()

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self._leaving_since is not None:
            waited_out = time.monotonic() - self._leaving_since > ACCEPT_PATIENCE
            if waited_out or not self._holds_more():
                self._leaving_since, self._impatient = None, waited_out
                timeout = 0  # gunicorn's loop turns at once and takes accepting up again, if it may
            else:
                timeout = min(timeout, RECHECK_SECONDS)
        super().wait_for_and_dispatch_events(timeout)
        self._publish()

    def handle_request(self, req: Request, conn: TConn) -> bool:
        if self._hands_one_over():
            req.force_close()
        return super().handle_request(req, conn)

    def _hands_one_over(self) -> bool:
        """Whether this request's connection closes after its answer, for its client to come back
        to a process with fewer (a request thread: published counts only)."""
        if self.counts is None or self.slot is None:
            return False
        held, fewest = self.counts.held(self.slot), self.counts.fewest_elsewhere(self.slot)
        if fewest is None or held < fewest + 2 or held * 4 < fewest * 5:
            return False
        with self.hand_over_lock:
            now = time.monotonic()
            if now - self._handed_over_at < HAND_OVER_SPACING:
                return False
            self._handed_over_at = now
        return True
