"""Serve Glimpse with gunicorn: `python run.py` (what `make run` does).

HOST and PORT choose the address, WEB_CONCURRENCY the number of worker processes. Each process
also runs JOB_WORKERS background-job threads and, as it starts, loads what search needs. All of
them share one database (with no MONGODB_URI, the embedded server in GLIMPSE_DATA_DIR, started by
whichever process needs it first).
"""
import os
import threading

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

from app import create_app
from app.core.jobs.worker import WorkerPool
from app.search import warm_up


class GlimpseServer(BaseApplication):
    def load_config(self) -> None:
        self.cfg.set("bind", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}")
        self.cfg.set("workers", int(os.environ.get("WEB_CONCURRENCY", "2")))
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", int(os.environ.get("WEB_THREADS", "8")))
        self.cfg.set("accesslog", "-")
        # gunicorn's control socket sits at one fixed path per user: two servers would collide.
        self.cfg.set("control_socket_disable", True)
        self.cfg.set("post_worker_init", self._start_background_work)
        self.cfg.set("worker_exit", self._stop_background_work)

    @staticmethod
    def _start_background_work(worker: Worker) -> None:
        app = worker.wsgi
        WorkerPool(app, app.config["JOB_WORKERS"]).start()
        threading.Thread(target=warm_up, args=(app,), name="search-warm-up", daemon=True).start()

    @staticmethod
    def _stop_background_work(_arbiter: Arbiter, worker: Worker) -> None:
        # Job threads left running at exit could be frozen holding a driver lock that pymongo's
        # exit handlers then wait for: the worker took 20 s to stop. Let them finish their poll.
        worker.wsgi.extensions["glimpse_workers"].stop()

    def load(self) -> Flask:
        return create_app()


if __name__ == "__main__":
    GlimpseServer().run()
