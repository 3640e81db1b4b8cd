"""What Glimpse leaves on this machine's disk: the secret key and the embedded database's files."""
import multiprocessing
import os
import stat

import pymongo
import pytest
from first_start import secret_key_of_a_first_start
from helpers import PROJECT_ROOT

from app import create_app
from app.config import SECRET_FILE, ConfigError
from app.core import embedded_mongo

PROCESSES = 12
ROUNDS = 8


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_processes_starting_at_once_all_get_the_same_new_secret_key(tmp_path, monkeypatch):
    # forkserver: processes without the test's threads, quick to start once the server has imported
    # the app (Python 3.13's forkserver finds modules by PYTHONPATH, not by this sys.path).
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]))
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["first_start"])
    for round_number in range(ROUNDS):
        data_dir = tmp_path / f"round{round_number}" / "data"
        barrier, results = context.Barrier(PROCESSES), context.Queue()
        processes = [context.Process(target=secret_key_of_a_first_start, args=(str(data_dir), barrier, results))
                     for _ in range(PROCESSES)]
        for process in processes:
            process.start()
        secrets = [results.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(60)
        assert len(set(secrets)) == 1, secrets
        assert len(secrets[0]) >= 32 and (data_dir / SECRET_FILE).read_text() == secrets[0]
        assert mode(data_dir) == 0o700 and mode(data_dir / SECRET_FILE) == 0o600
        assert os.listdir(data_dir) == [SECRET_FILE]  # no temporary file left behind


@pytest.mark.parametrize("kept", ["", "too-short-a-secret\n"])
def test_an_empty_or_short_kept_secret_key_is_refused(tmp_path, monkeypatch, kept):
    monkeypatch.delenv("SECRET_KEY")
    monkeypatch.setenv("GLIMPSE_DATA_DIR", str(tmp_path))
    (tmp_path / SECRET_FILE).write_text(kept)
    with pytest.raises(ConfigError, match="secret_key is (empty|too short).*Delete it"):
        create_app()


def test_a_short_secret_key_setting_is_refused(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "changeme")
    with pytest.raises(ConfigError, match="SECRET_KEY is too short: a secret key needs at least 32 characters"):
        create_app()


def test_the_embedded_database_is_readable_by_its_user_only(tmp_path):
    # An older version's data folder: made with the default modes, its database readable by all.
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    database = data_dir / embedded_mongo.DATABASE_FILE
    log = data_dir / embedded_mongo.LOG_FILE
    for path in (database, log):
        path.touch()
        path.chmod(0o644)
    data_dir.chmod(0o755)
    try:
        client = pymongo.MongoClient(embedded_mongo.ensure_server(data_dir), serverSelectionTimeoutMS=3000)
        client.glimpse.users.insert_one({"username": "alice", "password_hash": "$2b$12$..."})
        client.close()
        files = sorted(path.name for path in data_dir.iterdir())
        assert {database.name, log.name, embedded_mongo.STATE_FILE, embedded_mongo.LOCK_FILE} <= set(files)
        assert mode(data_dir) == 0o700
        assert {name: mode(data_dir / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        embedded_mongo.stop_server(data_dir)

