"""The embedded MongoDB-wire server that every Glimpse process of one data folder shares.

No real mongod can be installed on our machines, so when MONGODB_URI is unset the app talks
plain pymongo to mongoeco, a wire-protocol server over a SQLite file. Web workers, CLI commands
and job workers all join ONE server process per data folder: the first process to need it
spawns it (under a file lock, so two never race), and it outlives them until `flask db stop`.

The data folder and every file in it are private to the user running the app (0700 / 0600):
the database holds password hashes and live tokens.

Run by hand: `python -m app.core.embedded_mongo DATA_DIR`.
"""
import argparse
import asyncio
import fcntl
import json
import os
import signal
import socket
import stat

# Starts the database server, see _spawn.
import subprocess  # nosec B404
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from app.config import private_folder

if TYPE_CHECKING:  # mongoeco is imported only in the server process
    from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

STATE_FILE = "mongo-server.json"
LOCK_FILE = "mongo-server.lock"
DATABASE_FILE = "glimpse.sqlite3"
LOG_FILE = "mongo-server.log"
# Opening a big data file takes a while (40 s for 10k posts and 100k likes on a busy machine).
START_TIMEOUT_SECONDS = 180


def uri_for_port(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def ensure_server(data_dir: str | os.PathLike, *, stock_engine: bool = False) -> str:
    """Return the URI of the data folder's server, starting it first if nobody has.

    A server it starts runs Glimpse's engine, or mongoeco's own with `stock_engine` (tests
    compare the answers of the two)."""
    data_dir = private_folder(Path(data_dir))
    state = _live_state(data_dir)
    if state:
        return uri_for_port(state["port"])
    with _exclusive_lock(data_dir / LOCK_FILE):
        state = _live_state(data_dir)
        if state:
            return uri_for_port(state["port"])
        return uri_for_port(_spawn(data_dir, stock_engine))


def stop_server(data_dir: str | os.PathLike, grace_seconds: float = 10) -> bool:
    """Stop the data folder's server; False when none was running.

    A server still busy after `grace_seconds` (a long query holds its shutdown) is killed: SQLite's
    journal makes that safe, and the caller was told it stopped."""
    data_dir = Path(data_dir)
    state = _live_state(data_dir)
    if not state:
        return False
    for signum, seconds in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 10)):
        try:
            os.kill(state["pid"], signum)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and _pid_alive(state["pid"]):
            time.sleep(0.05)
        if not _pid_alive(state["pid"]):
            break
    return True


def _read_state(data_dir: Path) -> dict | None:
    try:
        return json.loads((data_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def _live_state(data_dir: Path) -> dict | None:
    state = _read_state(data_dir)
    if state and _pid_alive(state["pid"]) and _port_open(state["port"]):
        return state
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (killed but not reaped by us) still answers kill(0).
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _open_private(path: Path, mode: str) -> IO[Any]:
    """Open for appending, creating the file readable by this user only."""
    return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), mode)


def _make_files_private(data_dir: Path) -> None:
    """Take group and other permissions off files earlier versions left readable (0644)."""
    for path in data_dir.iterdir():
        if path.is_file():
            path.chmod(stat.S_IMODE(path.stat().st_mode) & 0o700)


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    with _open_private(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _spawn(data_dir: Path, stock_engine: bool) -> int:
    previous = _read_state(data_dir) or {}
    (data_dir / STATE_FILE).unlink(missing_ok=True)
    command = [sys.executable, "-m", "app.core.embedded_mongo", str(data_dir)]
    if previous.get("port"):
        # Same port as last time, so clients that outlived a crashed server reconnect by themselves.
        command += ["--port", str(previous["port"])]
    if stock_engine:
        command.append("--stock-engine")
    project_root = Path(__file__).resolve().parents[2]
    with _open_private(data_dir / LOG_FILE, "ab") as log:
        # Our own interpreter and module, no shell.
        process = subprocess.Popen(  # nosec B603
            command, cwd=project_root, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,  # not killed with the process (or terminal) that started it
            umask=0o077,  # SQLite creates the database, its journal and WAL files: this user's only
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        state = _read_state(data_dir)
        if state and state["pid"] == process.pid and _port_open(state["port"]):
            return state["port"]
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(
        f"the embedded MongoDB server did not start; see {data_dir / LOG_FILE}"
    )


def wire_server(path: Path, port: int, stock: bool) -> "AsyncMongoEcoProxyServer":
    """The server of the SQLite database at `path`: ours, or mongoeco's own with `stock`."""
    # Both import mongoeco, which only the server process needs.
    if stock:
        from mongoeco.engines.sqlite import SQLiteEngine  # noqa: PLC0415
        from mongoeco.wire.proxy import AsyncMongoEcoProxyServer  # noqa: PLC0415
        return AsyncMongoEcoProxyServer(engine=SQLiteEngine(str(path)), host="127.0.0.1", port=port)
    from app.core.embedded_engine import GlimpseSQLiteEngine, GlimpseWireServer  # noqa: PLC0415
    return GlimpseWireServer(engine=GlimpseSQLiteEngine(str(path)), host="127.0.0.1", port=port)


async def _serve(data_dir: Path, port: int, stock_engine: bool) -> None:
    def server_on(wanted_port: int) -> "AsyncMongoEcoProxyServer":
        return wire_server(data_dir / DATABASE_FILE, wanted_port, stock_engine)

    server = server_on(port)
    try:
        address = await server.start()
    except OSError:
        if port == 0:
            raise
        server = server_on(0)
        address = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    state_path = data_dir / STATE_FILE
    temporary = state_path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"pid": os.getpid(), "port": address.port}))
    os.replace(temporary, state_path)
    print(f"embedded MongoDB listening on {uri_for_port(address.port)}", flush=True)
    await stop.wait()
    await server.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Serve a data folder's embedded MongoDB.")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stock-engine", action="store_true", help="mongoeco's own engine, without Glimpse's changes")
    args = parser.parse_args(argv)
    os.umask(0o077)  # as _spawn sets it, for a server started by hand
    data_dir = private_folder(args.data_dir.resolve())
    _make_files_private(data_dir)
    asyncio.run(_serve(data_dir, args.port, args.stock_engine))


if __name__ == "__main__":
    main(sys.argv[1:])
