"""Serve Glimpse with gunicorn: `python run.py` (what `make run` does).

HOST and PORT choose the address, WEB_CONCURRENCY the number of worker processes, WEB_KEEPALIVE how
long an idle connection stays open, ACCESS_LOG where a line per request goes (nowhere when unset).
Each process also runs JOB_WORKERS background-job threads and, as it starts, loads what search
needs. All of them share one database (with no MONGODB_URI, the embedded server in GLIMPSE_DATA_DIR,
started by whichever process needs it first).

A stop (SIGTERM, or Ctrl-C on `make run`) is over within STOP_SECONDS, gunicorn's graceful timeout
(what is still running then is killed): requests in flight may finish meanwhile, and running
background jobs get JOB_GRACE_SECONDS; a job still running then goes back to the queue and runs
again later, here or in another process.
"""
import gc
import logging
import os
import sys
import threading

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

from app import create_app
from app.core.jobs.worker import WorkerPool
from app.core.web_worker import GlimpseWorker, job_pool
from app.search import warm_up

STOP_SECONDS = 5
JOB_GRACE_SECONDS = 1


def _warm_up_then_freeze(app: Flask) -> None:
    """Load what search needs, then leave everything loaded so far out of the garbage collector's
    full passes: a warm worker holds ~110k objects that live as long as it does, and walking them
    took 60 ms, a pause for every request in flight (the p99 of a feed page)."""
    warm_up(app)
    gc.freeze()


class GlimpseServer(BaseApplication):
    def load_config(self) -> None:
        self.cfg.set("bind", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}")
        self.cfg.set("workers", int(os.environ.get("WEB_CONCURRENCY", "2")))
        self.cfg.set("worker_class", GlimpseWorker)
        self.cfg.set("threads", int(os.environ.get("WEB_THREADS", "8")))
        self.cfg.set("graceful_timeout", STOP_SECONDS)
        # How long an idle kept-alive connection stays open: gunicorn's 2 s by default; behind a load
        # balancer it must outlast the balancer's own idle timeout, or a request it sends down a
        # connection the worker has just closed fails (AWS ALB keeps them 60 s).
        self.cfg.set("keepalive", int(os.environ.get("WEB_KEEPALIVE", "2")))
        # A line per request only when asked for (ACCESS_LOG: a file, or "-" for standard output), as
        # gunicorn does by default: the proxy in front usually keeps that log, and formatting and
        # writing the line was ~6% of a worker's time serving photos.
        if access_log := os.environ.get("ACCESS_LOG"):
            self.cfg.set("accesslog", access_log)
        # gunicorn's control socket sits at one fixed path per user: two servers would collide.
        self.cfg.set("control_socket_disable", True)
        self.cfg.set("post_worker_init", self._start_background_work)
        self.cfg.set("worker_exit", self._stop_background_work)
        self.cfg.set("pre_fork", GlimpseWorker.assign_slot)
        self.cfg.set("child_exit", GlimpseWorker.free_slot)

    @staticmethod
    def _start_background_work(worker: Worker) -> None:
        app = worker.wsgi
        WorkerPool(app, app.config["JOB_WORKERS"]).start()
        threading.Thread(target=_warm_up_then_freeze, args=(app,), name="search-warm-up", daemon=True).start()

    @staticmethod
    def _stop_background_work(_arbiter: Arbiter, worker: Worker) -> None:
        if pool := job_pool(worker):
            pool.stop(grace_seconds=JOB_GRACE_SECONDS)
        # gunicorn calls this hook as the SystemExit that ends the worker unwinds: keep its status
        # (a worker that failed to boot must say so, or the master starts it again and again).
        error = sys.exception()
        status = error.code if isinstance(error, SystemExit) and isinstance(error.code, int) else 0
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        # End here, without the interpreter's teardown: in a forked worker, onnxruntime's and
        # TensorFlow's exit handlers crash (SIGSEGV) or hang, the more so with a job thread still
        # inside them. Nothing is lost: jobs are handed back and every write is acknowledged.
        os._exit(status)

    def load(self) -> Flask:
        return create_app()


if __name__ == "__main__":
    GlimpseServer().run()
