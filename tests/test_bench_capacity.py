"""The capacity bench's load loop: it must count what a page answers, and count failures as errors."""
import http.client
import importlib
import pkgutil
from urllib.parse import urlsplit

import bench
from bench import capacity, dataset
from tests.helpers import api_signup, free_port, start_server, stop_server


def _address(live_server: str) -> tuple[str, int]:
    parts = urlsplit(live_server)
    return parts.hostname, parts.port


def test_responses_are_framed_by_their_length_or_chunks():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\n"
    assert capacity._framed(bytearray(head[:20])) is None  # headers not all there yet
    assert capacity._framed(bytearray(head + b"abc")) is None  # body not all there yet
    assert capacity._framed(bytearray(head + b"abcde")) == (200, len(head) + 5, False)
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
    assert capacity._framed(bytearray(chunked)) is None
    assert capacity._framed(bytearray(chunked + b"0\r\n\r\n")) == (200, len(chunked) + 5, False)
    not_modified = b"HTTP/1.1 304 NOT MODIFIED\r\nConnection: close\r\n\r\n"
    assert capacity._framed(bytearray(not_modified)) == (304, len(not_modified), True)


def test_the_loop_counts_answers_and_every_failed_one_as_an_error(live_server):
    host, port = _address(live_server)

    def run(path: str, must_contain: bytes | None = None) -> dict:
        page = capacity.Page(path, [capacity._request(host, port, path)], must_contain)
        return capacity.closed_loop(host, port, page, seconds=0.5, warmup_seconds=0.2, connections=2)

    answered = run("/explore")
    assert answered["requests"] > 0 and answered["errors"] == 0
    missing = run("/p/000000000000000000000000")
    assert missing["requests"] > 0 and missing["errors"] == missing["requests"]
    # A 200 without what the page must show (here: a session) is a failure too.
    signed_out = run("/explore", must_contain=b">Sign out<")
    assert signed_out["requests"] > 0 and signed_out["errors"] == signed_out["requests"]


def test_signing_in_through_the_form_gives_a_session_the_pages_accept(client, live_server):
    assert api_signup(client, "loadtester", password=dataset.PASSWORD).status_code == 201
    host, port = _address(live_server)
    cookies = capacity.sign_in_page(host, port, "loadtester")
    page = capacity.Page("home", [capacity._request(host, port, "/", f"Cookie: {cookies}")], b">Sign out<")
    figures = capacity.closed_loop(host, port, page, seconds=0.5, warmup_seconds=0.2, connections=1)
    assert figures["requests"] > 0 and figures["errors"] == 0
    # It keeps the CSRF token signing in handed out, as a browser does: pages need not make another.
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", "/", headers={"Cookie": cookies})
    response = connection.getresponse()
    assert response.status == 200 and capacity._cookie(response, capacity.CSRF_COOKIE) is None
    connection.close()


def test_the_warm_up_finds_a_connection_held_by_each_web_worker(app_config, tmp_path):
    port = free_port()
    server = start_server(app_config, port, log_path=tmp_path / "server.log")  # two web workers
    try:
        workers = capacity.with_children(server.pid)[1:]
        found = capacity.clients_of("127.0.0.1", port, workers, workers)
        assert len(workers) == 2 and sorted(found) == sorted(workers)
        for pid, client in found.items():
            client_port = client.connection.sock.getsockname()[1]
            assert capacity.workers_holding(port, [client_port], workers) == {client_port: pid}
        assert capacity._ask_in_turn(found[workers[0]], ["/healthz"] * 3, 1) == 3  # from the second on
    finally:
        stop_server(server, timeout=10)


def test_every_bench_module_imports():
    """`make bench` runs for half an hour; a name one of its modules lost must fail here, not in it."""
    for module in pkgutil.iter_modules(bench.__path__):
        importlib.import_module(f"bench.{module.name}")
