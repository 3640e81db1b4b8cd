"""Web processes share connections out evenly (app/core/web_worker.py). A kept-alive connection
stays with the process that took it, and chance once decided which: eight connections opened
together were split 4/4 or 1/7, and the fuller process's waited twice as long."""
import http.client
import select
import socket
import threading
import time

from helpers import free_port, start_server, stop_server, wait_until
from pytest import fixture

from bench.capacity import with_children, workers_holding

PATH = "/healthz"


class BusyConnections:
    """Connections each asking for PATH again as soon as it is answered, on threads, until stopped:
    http.client opens a new connection when an answer says "Connection: close"."""

    def __init__(self, connections: list[http.client.HTTPConnection]):
        self.connections, self._stopped = connections, threading.Event()
        self._threads = [threading.Thread(target=self._ask, args=(connection,)) for connection in connections]
        self.failures: list[str] = []

    def _ask(self, connection: http.client.HTTPConnection) -> None:
        while not self._stopped.is_set():
            connection.request("GET", PATH)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                self.failures.append(f"{response.status} {PATH}")

    def __enter__(self) -> "BusyConnections":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stopped.set()
        for thread in self._threads:
            thread.join(10)
        for connection in self.connections:
            connection.close()


def still_open(connections: list[http.client.HTTPConnection]) -> dict[int, http.client.HTTPConnection]:
    """The connections the server has not closed, by their client port. A process holding more
    answers now and then with `Connection: close`, after which http.client drops the socket."""
    by_port = {}
    for connection in connections:
        try:
            by_port[connection.sock.getsockname()[1]] = connection
        except (AttributeError, OSError):  # between an answer closing it and its successor
            continue
    return by_port


def split(port: int, connections: list[http.client.HTTPConnection], workers: list[int]) -> list[int]:
    """How many of the connections each worker holds, fewest first."""
    holders = workers_holding(port, list(still_open(connections)), workers)
    return sorted(list(holders.values()).count(worker) for worker in workers)


def closed_by_server(connection: http.client.HTTPConnection) -> bool:
    """Whether the server has closed this connection's other end (there is something to read, and
    it is the end)."""
    readable, _, _ = select.select([connection.sock], [], [], 0)
    return bool(readable) and connection.sock.recv(1, socket.MSG_PEEK) == b""


@fixture
def served(app_config, tmp_path):
    """A real server (two worker processes): its port and its workers' pids. Its idle connections
    stay open for a minute: what is measured here is the hand-over, not gunicorn closing connections
    left idle for its default 2 s, which a loaded machine pausing the test for that long would see."""
    port = free_port()
    server = start_server(app_config, port, log_path=tmp_path / "server.log", extra_env={"WEB_KEEPALIVE": "60"})
    try:
        yield port, with_children(server.pid)[1:]
    finally:
        stop_server(server)


def test_connections_opened_together_are_shared_evenly(served):
    port, workers = served
    for _ in range(3):  # chance alone splits them evenly about one time in three
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(8)]
        with BusyConnections(connections) as busy:
            wait_until(lambda: split(port, busy.connections, workers) == [4, 4], timeout=10)
        assert not busy.failures


def test_a_process_holding_more_hands_connections_over_until_they_are_even(served):
    port, workers = served
    opened = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(16)]
    for connection in opened:
        connection.request("GET", PATH)
        connection.getresponse().read()
    open_by_port = still_open(opened)
    holders = workers_holding(port, list(open_by_port), workers)
    fuller = max(workers, key=list(holders.values()).count)
    kept = [connection for client_port, connection in open_by_port.items() if holders.get(client_port) == fuller][:6]
    for connection in opened:
        if connection not in kept:
            connection.close()
    assert len(kept) == 6 and split(port, kept, workers) == [0, 6]  # one process holds them all
    with BusyConnections(kept) as busy:
        wait_until(lambda: split(port, kept, workers) == [3, 3], timeout=10)
    assert not busy.failures


def test_idle_connections_stay_open_for_web_keepalive_seconds(served, app_config, tmp_path):
    port, _ = served
    lasting = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    short_port = free_port()
    short_lived_server = start_server(app_config, short_port, log_path=tmp_path / "short.log", extra_env={"WEB_KEEPALIVE": "1"})
    try:
        short_lived = http.client.HTTPConnection("127.0.0.1", short_port, timeout=10)
        for connection in (lasting, short_lived):
            connection.request("GET", PATH)
            connection.getresponse().read()
        wait_until(lambda: closed_by_server(short_lived), timeout=10)
        time.sleep(4)  # past gunicorn's default 2 s and the worker's next look at its idle connections
        assert not closed_by_server(lasting)
    finally:
        stop_server(short_lived_server)
