"""Stopping: the server (`python run.py`) within seconds whatever its job threads are doing, with no
crash; a job cut short goes back to the queue and runs again."""
import os
import signal
import threading

from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import free_port, http, sample_photos, signed_up_tokens, start_server, wait_until

from app.core.jobs import queue
from app.core.jobs.worker import WorkerPool

STOP_SECONDS = 5  # the bound a stop must keep, generous: 1-2 s, idle or busy, on a quiet machine


def stop(server, log_path) -> None:
    """SIGTERM, as a service manager sends; the server must end cleanly within STOP_SECONDS."""
    server.send_signal(signal.SIGTERM)
    try:
        status = server.wait(timeout=STOP_SECONDS)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
    output = log_path.read_text()
    assert status == 0, output
    # gunicorn reports a worker that died of a signal as "Worker (pid:N) was sent SIGSEGV!".
    for crash in ("was sent", "Segmentation", "Traceback"):
        assert crash not in output, output


def test_an_idle_server_stops_cleanly(app_config, tmp_path):
    port, log_path = free_port(), tmp_path / "server.log"
    server = start_server(app_config, port, job_workers=2, log_path=log_path)
    # Search warmed up (the query embedder loaded); the job threads poll an empty queue.
    wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/healthz")[1]["search"] == "ready", timeout=60)
    stop(server, log_path)


def test_a_stop_mid_description_hands_the_job_back_and_the_restart_runs_it(app_config, client, db, tmp_path):
    token = signed_up_tokens(client, "alice")["access_token"]
    photo = sample_photos(DATASETS_DIR, 1)[0]
    port, log_path = free_port(), tmp_path / "server.log"
    server = start_server(app_config, port, job_workers=1, log_path=log_path)
    status, post = http("POST", f"http://127.0.0.1:{port}/api/v1/posts", token=token,
                        files=[(photo.name, photo.read_bytes())])
    assert status == 201
    # Claimed: its thread now loads the models and describes the photo, seconds of uninterruptible work.
    wait_until(lambda: db.jobs.find_one({"payload.post_id": post["id"], "status": "running"}), interval=0.05)
    stop(server, log_path)
    job = db.jobs.find_one({"payload.post_id": post["id"]})
    assert (job["status"], job["worker"], job["attempts"]) == ("queued", None, 0)  # the cut attempt does not count

    server = start_server(app_config, port, job_workers=1, log_path=log_path)
    # The job is marked done just after it writes the post: wait for the job, then look at both.
    wait_until(lambda: db.jobs.find_one({"_id": job["_id"], "status": "done"}), timeout=180, interval=0.5)
    assert db.posts.find_one({"_id": ObjectId(post["id"])})["enrichment"] == "done"
    stop(server, log_path)  # now with the models loaded


def test_a_stopped_pool_hands_back_the_job_it_could_not_finish(app, db):
    started, release = threading.Event(), threading.Event()

    def stuck(payload):  # like model code: nothing interrupts it
        started.set()
        release.wait(30)

    queue.register_handlers(app, {**queue.handlers_of(app), "test-stuck": queue.JobHandler(stuck)})
    job_id = queue.enqueue(db, "test-stuck", {})
    pool = WorkerPool(app, threads=1, poll_seconds=0.05).start()
    assert started.wait(30)
    pool.stop(grace_seconds=0.1)
    handed_back = db.jobs.find_one({"_id": job_id})
    assert (handed_back["status"], handed_back["worker"], handed_back["attempts"]) == ("queued", None, 0)
    release.set()
    pool.stop()  # waits for the thread, which finishes the handler but records nothing
    assert db.jobs.find_one({"_id": job_id})["status"] == "queued"

    WorkerPool(app, threads=1, poll_seconds=0.05).start()
    assert wait_until(lambda: db.jobs.find_one({"_id": job_id, "status": "done"}))["attempts"] == 1
