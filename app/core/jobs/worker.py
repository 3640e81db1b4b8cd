"""Worker threads that run queued jobs; `flask worker` runs the same pool as its own process."""
import logging
import os
import socket
import threading
import time
import uuid

from flask import Flask, current_app

from app.core.db import MongoDatabase, get_db
from app.core.jobs import queue

log = logging.getLogger(__name__)


class WorkerPool:
    def __init__(self, app: Flask, threads: int, poll_seconds: float = 0.5):
        self.app = app
        self.threads = threads
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        # The job each busy thread is running, by worker id: what stop() hands back if it must.
        self._running: dict[str, dict] = {}
        self._running_lock = threading.Lock()

    def start(self) -> "WorkerPool":
        for number in range(self.threads):
            worker_id = f"{socket.gethostname()}:{os.getpid()}:{number}:{uuid.uuid4().hex[:6]}"
            thread = threading.Thread(target=self._run, args=(worker_id,), name=f"job-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.app.extensions["glimpse_workers"] = self
        return self

    def wake(self) -> None:
        """Look for work now rather than at the next poll (a job was just enqueued here)."""
        self._wake.set()

    def stop_claiming(self) -> None:
        """Take no more jobs; running ones go on (stop() then waits for them)."""
        self._stop.set()
        self._wake.set()

    def stop(self, grace_seconds: float = 10) -> None:
        """Claim no more jobs; give running ones `grace_seconds` to finish, then hand them back to
        the queue to run again later. Their threads may stay busy (model code cannot be interrupted)
        but record nothing more about those jobs."""
        self.stop_claiming()
        deadline = time.monotonic() + grace_seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._running_lock:
            unfinished, self._running = list(self._running.values()), {}
        if unfinished:
            with self.app.app_context():
                db = get_db()
                for job in unfinished:
                    queue.hand_back(db, job)
            log.info("handed back %d unfinished jobs", len(unfinished))

    def _run(self, worker_id: str) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_one(worker_id)
            except Exception:  # the database is down, say: keep the thread alive and retry
                log.exception("job worker %s could not poll", worker_id)
                worked = False
            if not worked:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def run_one(self, worker_id: str) -> bool:
        with self.app.app_context():
            db = get_db()
            handlers = queue.handlers_of(self.app)
            job = queue.claim(db, worker_id, kinds=sorted(handlers),
                              lease_seconds=self.app.config["JOB_LEASE_SECONDS"])
            if job is None:
                return False
            job["worker"] = worker_id
            with self._running_lock:
                if self._stop.is_set():  # claimed while stopping
                    queue.hand_back(db, job)
                    return True
                self._running[worker_id] = job
            handler = handlers[job["kind"]]
            try:
                handler.run(job["payload"])
                error = None
            except Exception as failure:
                error = failure
            self._record(db, worker_id, job, handler, error)
            return True

    def _record(self, db: MongoDatabase, worker_id: str, job: dict, handler: queue.JobHandler, error: Exception | None) -> None:
        """Record how the job went, unless stop() handed it back meanwhile (its next run will)."""
        with self._running_lock:
            if self._running.pop(worker_id, None) is None:
                return
            if error is None:
                queue.complete(db, job, handler.private_fields)
                return
            status = queue.fail(db, job, error, self.app.config["JOB_BACKOFF_SECONDS"], handler.private_fields)
        log.warning("job %s (%s) attempt %s failed -> %s: %s",
                    job["_id"], job["kind"], job["attempts"], status, error)
        if status == "failed":
            handler.give_up(job["payload"], str(error))


def wake_workers() -> None:
    """Have this process's job workers look for work now (a job was just queued), not at their next poll."""
    pool = current_app.extensions.get("glimpse_workers")
    if pool is not None:
        pool.wake()
