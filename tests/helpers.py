"""Small helpers the tests share."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from io import BytesIO
from pathlib import Path

import pymongo
from bson import ObjectId
from pymongo import monitoring

from app.core.db import get_db
from app.core.jobs import queue
from bench.capacity import clients_of, with_children

PROJECT_ROOT = Path(__file__).resolve().parents[1]

PASSWORD = "correct horse battery"


def api_signup(client, username="alice", email=None, password=PASSWORD, *, verified=True):
    """Sign up through the API. For the many tests not about email verification the new account is
    then marked verified in the database, as opening its mailed link would (tests/test_verification.py
    opens the real link)."""
    response = client.post("/api/v1/auth/signup", json={
        "username": username, "email": email or f"{username}@example.com", "password": password})
    if verified and response.status_code == 201:
        mark_verified(client.application, response.get_json()["id"])
    return response


def mark_verified(app, user_id: str) -> None:
    with app.app_context():
        get_db().users.update_one({"_id": ObjectId(user_id)}, {"$set": {"email_verified": True},
                                                               "$unset": {"email_verification": ""}})


def api_login(client, login="alice", password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"login": login, "password": password})


def client_from(app, address: str):
    """A test client whose requests come from `address`, as a proxy trusted by TRUSTED_PROXIES=1 says."""
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    return client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def signed_up_tokens(client, username="alice") -> dict:
    assert api_signup(client, username).status_code == 201
    response = api_login(client, username)
    assert response.status_code == 200
    return response.get_json()


def csrf_from(client) -> str:
    """Visit a page, as a browser would, and return the CSRF token its forms carry."""
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def page_login(client, login="alice", password=PASSWORD):
    return client.post("/login", data={"login": login, "password": password, "csrf_token": csrf_from(client)})


def reset_link_in(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"(http\S+/reset/\S+)", body).group(1)


def sample_photos(datasets_dir, count: int = 1) -> list:
    photos = sorted((datasets_dir / "photos").glob("*.jpg"))[:count]
    assert len(photos) == count, f"{count} real photos are needed in {datasets_dir / 'photos'}"
    return photos


def api_upload(client, token: str, paths: list, caption: str = ""):
    files = [(BytesIO(path.read_bytes()), path.name) for path in paths]
    return client.post("/api/v1/posts", headers=bearer(token), content_type="multipart/form-data",
                       data={"photos": files, "caption": caption})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(method: str, url: str, *, token: str | None = None, json_body=None, files=None, fields=None, timeout=30):
    """A plain HTTP request to a real server (not the test client): (status, parsed JSON or text)."""
    headers, data = {}, None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        data, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    elif files is not None:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                 for name, value in (fields or {}).items()]
        parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{name}"\r\n'
                  f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n" for name, content in files]
        data = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body, kind = response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        status, body, kind = error.code, error.read(), error.headers.get_content_type()
    return status, (json.loads(body) if kind == "application/json" and body else body)


def wait_until(predicate, timeout=30, interval=0.1):
    """The predicate's first truthy answer, polling until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(interval)
    raise AssertionError("timed out")


def start_server(app_config, port, job_workers: int = 0, log_path: Path | None = None,
                 extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """The real thing: `python run.py` (gunicorn, two worker processes) in its own process group,
    its output appended to `log_path` when given; returned once both workers answer."""
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2", "JOB_WORKERS": str(job_workers),
           "MONGODB_URI": app_config["MONGODB_URI"], "MONGODB_DB": app_config["MONGODB_DB"],
           "RATELIMIT_ENABLED": "0", "BCRYPT_ROUNDS": "4", **(extra_env or {})}
    with open(log_path or os.devnull, "ab") as output:
        server = subprocess.Popen([sys.executable, "run.py"], cwd=PROJECT_ROOT, env=env, start_new_session=True,
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _healthy(port), timeout=60, interval=0.2)
        wait_until(lambda: _both_workers_answer(server.pid, port), timeout=60, interval=0.2)
    except BaseException:
        stop_server(server)  # a server that never came up must not outlive the test
        raise
    return server


def stop_server(server: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to the server's process group (master and workers), as a service manager sends it;
    waits for the master to end."""
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout)


def _both_workers_answer(master_pid: int, port: int) -> bool:
    """Whether each of the two workers took a connection: one still loading the app takes none, and
    the server answers once the other has."""
    workers = with_children(master_pid)[1:]
    if len(workers) != 2:
        return False
    found = clients_of("127.0.0.1", port, workers, workers)
    for client in found.values():
        client.connection.close()
    return len(found) == 2


def _healthy(port) -> bool:
    try:
        return http("GET", f"http://127.0.0.1:{port}/healthz", timeout=2)[0] == 200
    except OSError:
        return False


def run_jobs(app, db, kinds: list[str]) -> int:
    """Run the due jobs of these kinds as a worker does, until none is left; how many ran. (Only
    these: a test of one job has no business running the others, enrichment above all.)"""
    ran = 0
    with app.app_context():
        while (job := queue.claim(db, "test-worker", kinds)) is not None:
            handler, job["worker"] = queue.handlers_of(app)[job["kind"]], "test-worker"
            handler.run(job["payload"])
            queue.complete(db, job, handler.private_fields)
            ran += 1
    return ran


class CommandLog(monitoring.CommandListener):
    """The commands a pymongo client sends: give it to a client as `event_listeners=[log]`."""

    def __init__(self):
        self.commands: list[dict] = []

    def started(self, event):
        self.commands.append({"name": event.command_name, **event.command})

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def sent_to(self, collection: str) -> list[dict]:
        return [command for command in self.commands if command.get(command["name"]) == collection]


def monitored_client(uri: str, log: CommandLog) -> pymongo.MongoClient:
    return pymongo.MongoClient(uri, tz_aware=True, event_listeners=[log])


class DatabaseCommands(monitoring.CommandListener):
    """(command, collection) of each command sent to one database by every client made after
    `monitoring.register(log)`; the change polls and the job workers, which run on their own
    schedule, are left out."""

    IGNORED = frozenset({"vector_changes", "post_changes", "jobs"})

    def __init__(self) -> None:
        self.database: str | None = None
        self.commands: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        if event.database_name == self.database and isinstance(target, str) and target not in self.IGNORED:
            with self._lock:
                self.commands.append((event.command_name, target))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def during(self, request):
        """(what `request()` sent, by (command, collection); what it returned)."""
        self.commands.clear()
        result = request()
        with self._lock:
            return Counter(self.commands), result


def with_appname(uri: str, name: str) -> str:
    """The same database under a URI of its own: an app given it makes a new client, which a
    listener registered since then hears."""
    return uri + ("&" if "?" in uri else "?") + f"appname={name}"


def open_upload_page(page, live_server):
    """Follow the "New post" link and wait for the page's load event: the upload script listens from
    then on, and a photo chosen or dropped while the page still parses is lost."""
    page.get_by_role("link", name="New post").click()
    page.wait_for_url(f"{live_server}/upload")
