"""Shared fixtures: a real MongoDB-wire server, an isolated database per test, a real SMTP
server, the app's job workers, a live HTTP server and headless Chromium.

TEST_MONGODB_URI runs the tests against a MongoDB of your own (a real mongod, Atlas) instead of the
embedded server; CHROMIUM names the browser to drive (a command or a path, `chromium` by default)."""
import email
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from email import policy
from pathlib import Path

import pytest

# Before the app is imported: keep secrets and data of the test run out of the repo's instance/.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="glimpse-tests-"))
os.environ["GLIMPSE_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ["SECRET_KEY"] = "test-secret-key-with-enough-length-for-hs256"
os.environ.pop("MONGODB_URI", None)

from aiosmtpd.controller import Controller  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.config import datasets_dir  # noqa: E402
from app.core import db as database  # noqa: E402
from app.core import embedded_mongo  # noqa: E402
from app.core.jobs.worker import WorkerPool  # noqa: E402

DATASETS_DIR = datasets_dir()
CHROMIUM = os.environ.get("CHROMIUM") or "chromium"
# What the tests read from the shared datasets: real photos, Flickr8k's captions and its dev split.
DATASETS_NEEDED = ("photos", "flickr8k/Flickr8k.token.txt", "flickr8k/Flickr_8k.devImages.txt", "flickr8k/images")


def pytest_configure(config):
    """No run without the real photos: a run that skipped every test needing them would pass
    having tested little."""
    missing = [name for name in DATASETS_NEEDED if not (DATASETS_DIR / name).exists()]
    if missing:
        raise pytest.UsageError(
            f"The tests need the shared datasets, and {DATASETS_DIR} lacks {', '.join(missing)}: clone Glimpse "
            "beside shared/ (so that ../shared/datasets is there), or from a checkout that is, or set "
            "GLIMPSE_DATASETS_DIR to that folder.")


@pytest.fixture(scope="session")
def mongo_uri():
    """TEST_MONGODB_URI when set; otherwise the embedded server, started through the same launcher
    the app uses. Either way each test gets a database of its own (see `app_config`)."""
    if uri := os.environ.get("TEST_MONGODB_URI"):
        yield uri
    else:
        data_dir = _SESSION_DIR / "mongo"
        yield embedded_mongo.ensure_server(data_dir)
        embedded_mongo.stop_server(data_dir)
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


class Mailbox:
    """Mail received by the test SMTP server."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 OK"

    def wait_for(self, to: str, timeout: float = 15, subject: str = "") -> email.message.EmailMessage:
        """The first mail to `to` whose subject contains `subject` (sign-up also mails a link)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for message in self.messages:
                    if to in message["To"] and subject in message["Subject"]:
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no mail to {to} within {timeout}s")
                self._arrived.wait(remaining)

    def clear(self):
        with self._arrived:
            self.messages.clear()


@pytest.fixture(scope="session")
def smtp_server():
    mailbox = Mailbox()
    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting, so no port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    smtp_server[1].clear()
    return smtp_server[1]


@pytest.fixture
def app_config(mongo_uri, smtp_server):
    """Per-test configuration, with a database of the test's own that is dropped after it (whoever
    wrote there: this process or a server it started); tests adjust it before asking for `app`."""
    controller, _ = smtp_server
    config = {
        "TESTING": True,
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": f"test_{uuid.uuid4().hex[:12]}",
        "BCRYPT_ROUNDS": 4,
        "BASE_URL": "http://glimpse.test",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": controller.port,
        "MAIL_DEFAULT_SENDER": "Glimpse <no-reply@glimpse.test>",
        "RATELIMIT_ENABLED": True,
        # Tests see a deleted or hidden post's photos go at once; test_posts covers the lookup cache.
        "PHOTO_LOOKUP_SECONDS": 0,
    }
    yield config
    database.client_for(mongo_uri).drop_database(config["MONGODB_DB"])


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    yield app
    pool = app.extensions.get("glimpse_workers")
    if pool:
        pool.stop()


@pytest.fixture
def db(app):
    # Return the handle without holding an app context open: requests made during the test
    # must each get their own `g`, as they do in a real server.
    with app.app_context():
        return database.get_db()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def workers(app):
    """The app's background job workers, running in this process as in a web worker."""
    return WorkerPool(app, threads=1, poll_seconds=0.2).start()


@pytest.fixture
def live_server(app, workers):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which(CHROMIUM)
    if executable is None:  # a failure, not a skip: a run without a browser has not tested the pages
        pytest.fail(f"Chromium not found ({CHROMIUM}): run `sudo apt-get install chromium` (`make test` does when it may).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


def _browser_page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def page(browser):
    yield from _browser_page(browser)


@pytest.fixture
def other_page(browser):
    """A second browser with its own cookies, as on another device."""
    yield from _browser_page(browser)
