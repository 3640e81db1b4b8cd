"""Faults: the server killed mid-upload, the database stopped, SMTP down, the models failing."""
import json
import os
import signal
import subprocess
import sys
import threading

import pytest
from aiosmtpd.controller import Controller
from bson import ObjectId
from conftest import DATASETS_DIR, Mailbox
from helpers import (
    PROJECT_ROOT,
    api_signup,
    bearer,
    free_port,
    http,
    sample_photos,
    signed_up_tokens,
    start_server,
    wait_until,
)
from werkzeug.serving import make_server

from app import create_app
from app.core import embedded_mongo
from app.core.jobs.worker import WorkerPool
from app.maintenance import doctor


def test_kill_9_mid_upload_keeps_every_acknowledged_post_whole(app_config, client, db):
    photos = [(path.name, path.read_bytes()) for path in sample_photos(DATASETS_DIR, 6)]
    port = free_port()
    server = start_server(app_config, port)
    base = f"http://127.0.0.1:{port}"
    token = signed_up_tokens(client, "uploader")["access_token"]
    acknowledged, stop = [], threading.Event()

    def upload_forever(offset):
        number = offset
        while not stop.is_set():
            try:
                status, body = http("POST", f"{base}/api/v1/posts", token=token, files=[photos[number % 6]],
                                    fields={"caption": f"upload {number}"}, timeout=10)
            except OSError:
                return  # the server died under us: that upload was never acknowledged
            if status == 201:
                acknowledged.append(body["id"])
            number += 4

    uploaders = [threading.Thread(target=upload_forever, args=(offset,)) for offset in range(4)]
    for uploader in uploaders:
        uploader.start()
    wait_until(lambda: len(acknowledged) >= 6, timeout=60)
    os.killpg(server.pid, signal.SIGKILL)  # master and workers, mid-request
    stop.set()
    for uploader in uploaders:
        uploader.join(15)
    server.wait(10)

    server = start_server(app_config, port)
    try:
        for post_id in acknowledged:
            status, post = http("GET", f"{base}/api/v1/posts/{post_id}")
            assert status == 200, post_id
            for url in post["photos"][0]["urls"].values():
                assert http("GET", base + url)[0] == 200
        # Nothing half-written is visible: every post there is has all its files.
        assert doctor.posts_without_files(db).ids == []
        visible = {post["id"] for post in http("GET", f"{base}/api/v1/explore?limit=50")[1]["results"]}
        assert set(acknowledged) <= visible
        repaired = subprocess.run([sys.executable, "-m", "flask", "--app", "run", "doctor", "--repair", "--grace-minutes", "0"],
                                  check=False, cwd=PROJECT_ROOT, env={**os.environ, "MONGODB_URI": app_config["MONGODB_URI"],
                                                         "MONGODB_DB": app_config["MONGODB_DB"]},
                                  capture_output=True, text=True, timeout=120)
        assert repaired.returncode == 0 and repaired.stdout.strip().endswith("clean"), repaired.stdout + repaired.stderr
    finally:
        os.killpg(server.pid, signal.SIGKILL)


@pytest.fixture
def own_database(tmp_path):
    """An embedded server of this test's own, so it can be stopped without harming the others."""
    data_dir = tmp_path / "db"
    uri = embedded_mongo.ensure_server(data_dir)
    yield data_dir, uri
    embedded_mongo.stop_server(data_dir)


def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def test_database_down_gives_clear_503s_then_recovers_without_a_restart(app_config, own_database):
    data_dir, uri = own_database
    app = create_app({**app_config, "MONGODB_URI": uri})
    server, base = live(app)
    try:
        assert http("GET", f"{base}/api/v1/explore")[0] == 200
        embedded_mongo.stop_server(data_dir)
        status, body = http("GET", f"{base}/api/v1/explore")
        assert status == 503 and body["error"]["code"] == "database_unavailable"
        assert http("GET", f"{base}/healthz")[0] == 503
        page_status, page = http("GET", f"{base}/explore")
        assert page_status == 503 and b"not answering" in page
        embedded_mongo.ensure_server(data_dir)  # the database comes back (same port)
        assert wait_until(lambda: http("GET", f"{base}/api/v1/explore")[0] == 200)
        assert http("GET", f"{base}/healthz")[1]["database"] == "ok"
    finally:
        server.shutdown()


def test_a_crashed_embedded_server_is_restarted_by_the_app(app_config, tmp_path):
    """With no MONGODB_URI the app owns the embedded server, and brings it back after a crash."""
    data_dir = tmp_path / "owned"
    app = create_app({**app_config, "MONGODB_URI": "", "GLIMPSE_DATA_DIR": str(data_dir)})
    server, base = live(app)
    try:
        api_signup(app.test_client(), "survivor")
        pid = json.loads((data_dir / embedded_mongo.STATE_FILE).read_text())["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: http("GET", f"{base}/api/v1/users/survivor")[0] == 200, timeout=30, interval=0.5)
    finally:
        server.shutdown()
        embedded_mongo.stop_server(data_dir)


def test_smtp_down_still_answers_202_and_the_mail_is_retried_until_it_goes(app_config, db):
    port = free_port()  # nothing listens here yet: the mail server is down
    # No sign-up link (REQUIRE_EMAIL_VERIFICATION off): the reset's is the one mail retried.
    app = create_app({**app_config, "MAIL_PORT": port, "JOB_BACKOFF_SECONDS": 0.5, "REQUIRE_EMAIL_VERIFICATION": False})
    pool = WorkerPool(app, threads=1, poll_seconds=0.2).start()
    client = app.test_client()
    api_signup(client, "alice")
    assert client.post("/api/v1/auth/password/forgot", json={"email": "alice@example.com"}).status_code == 202
    failed_once = wait_until(lambda: db.jobs.find_one({"kind": "send_mail", "attempts": {"$gte": 1}, "status": "queued"}))
    assert "refused" in failed_once["last_error"].lower()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        message = mailbox.wait_for("alice@example.com", timeout=30, subject="Reset")
        assert "/reset/" in message.get_body(preferencelist=("plain",)).get_content()
        assert wait_until(lambda: db.jobs.find_one({"kind": "send_mail", "status": "done"}))["attempts"] >= 2
    finally:
        smtp.stop()
        pool.stop()


def test_model_failure_keeps_the_post_retries_then_marks_it_failed(app_config, client, db, tmp_path):
    token = signed_up_tokens(client, "alice")["access_token"]
    photo = sample_photos(DATASETS_DIR, 1)[0]
    post_id = client.post("/api/v1/posts", headers=bearer(token), content_type="multipart/form-data",
                          data={"photos": [(open(photo, "rb"), "p.jpg")]}).get_json()["id"]
    env = {**os.environ, "MONGODB_URI": app_config["MONGODB_URI"], "MONGODB_DB": app_config["MONGODB_DB"],
           "ML_WEIGHTS_DIR": str(tmp_path / "no-weights-here"), "JOB_BACKOFF_SECONDS": "0.1"}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "worker", "--threads", "1"],
                              cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        job = wait_until(lambda: db.jobs.find_one({"payload.post_id": post_id, "status": "failed"}), timeout=120)
        # The worker marks the post after the job, so look for it rather than read it at once.
        post = wait_until(lambda: db.posts.find_one({"_id": ObjectId(post_id), "enrichment": "failed"}), timeout=10)
    finally:
        worker.kill()
    assert job["attempts"] == job["max_attempts"] == 5
    assert post["status"] == "published"
    assert client.get(f"/api/v1/posts/{post_id}").status_code == 200
