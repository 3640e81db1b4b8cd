"""Worker threads that run queued jobs; `flask worker` runs the same pool as its own process."""
import logging
import os
import socket
import threading
import uuid

from flask import Flask

from app.core.db import get_db
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

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

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
            handler = handlers[job["kind"]]
            try:
                handler.run(job["payload"])
            except Exception as error:
                status = queue.fail(db, job, error, self.app.config["JOB_BACKOFF_SECONDS"], handler.private_fields)
                log.warning("job %s (%s) attempt %s failed -> %s: %s",
                            job["_id"], job["kind"], job["attempts"], status, error)
                if status == "failed":
                    handler.give_up(job["payload"], str(error))
            else:
                queue.complete(db, job, handler.private_fields)
            return True


def wake_workers(app: Flask) -> None:
    pool = app.extensions.get("glimpse_workers")
    if pool is not None:
        pool.wake()
