"""Health check, API contract, the embedded server and the job queue."""
import json
import os
import re
import signal
import time

import pymongo
import pytest
from bson import ObjectId

from app import create_app
from app.core import embedded_mongo
from app.core.db import find_by_ids, migrate
from app.jobs import queue


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(app_config):
    app = create_app({**app_config, "MONGODB_URI": "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&directConnection=true"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_every_api_route_is_in_the_openapi_document(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        for path in openapi_paths(rule.rule.removeprefix("/api/v1")):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method.lower()) in documented, f"{method} {path} is missing from openapi.json"


def openapi_paths(flask_path: str) -> list[str]:
    """`/a/<int:b>/<any(x, y):c>` -> ["/a/{b}/x", "/a/{b}/y"]."""
    choice = re.search(r"<any\(([^)]*)\):\w+>", flask_path)
    if choice:
        return [path for option in choice.group(1).split(",")
                for path in openapi_paths(flask_path.replace(choice.group(0), option.strip()))]
    return [re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", flask_path)]


def test_api_errors_are_json_with_code_and_message(client):
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404
    assert set(response.get_json()["error"]) >= {"code", "message"}
    assert client.delete("/api/v1/me").get_json()["error"]["code"] == "method_not_allowed"


def test_embedded_server_is_shared_survives_kill_9_and_keeps_data(tmp_path):
    data_dir = tmp_path / "data"
    uri = embedded_mongo.ensure_server(data_dir)
    assert embedded_mongo.ensure_server(data_dir) == uri  # a second process joins, never starts another
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=3000)
    client.glimpse.things.insert_one({"name": "kept"})
    client.close()
    pid = json.loads((data_dir / embedded_mongo.STATE_FILE).read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while embedded_mongo._pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    restarted = embedded_mongo.ensure_server(data_dir)
    assert restarted == uri  # same port, so long-lived clients reconnect by themselves
    client = pymongo.MongoClient(restarted, serverSelectionTimeoutMS=3000)
    assert client.glimpse.things.find_one({"name": "kept"}) is not None
    client.close()
    assert embedded_mongo.stop_server(data_dir)
    assert not embedded_mongo.stop_server(data_dir)


def test_unique_indexes_hold_on_the_embedded_server(db):
    db.users.insert_one({"username_lower": "x", "email_lower": "x@example.com"})
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        db.users.insert_one({"username_lower": "x", "email_lower": "y@example.com"})


def test_indexed_array_equality_matches_elements_of_every_type(db):
    # Our engine rewrites the embedded server's lookup of indexed array elements (see
    # GlimpseSQLiteEngine); the answers must be MongoDB's.
    db.things.create_index("values")
    db.things.insert_many([{"n": 1, "values": [1, "a"]}, {"n": 2, "values": [2.0]}, {"n": 3, "values": "a"},
                           {"n": 4, "values": ["b", None]}, {"n": 5, "values": []}])

    def matching(query):
        return sorted(thing["n"] for thing in db.things.find(query))

    assert matching({"values": 1}) == [1]
    assert matching({"values": 2}) == [2]
    assert matching({"values": "a"}) == [1, 3]
    assert matching({"values": {"$in": ["b", 2]}}) == [2, 4]
    assert matching({"values": "c"}) == []
    assert matching({"values": None}) == [4]


def test_migrate_gives_older_posts_their_tag_names(db):
    db.posts.insert_many([{"tags": [{"name": "dog", "score": 0.9}, {"name": "beach", "score": 0.5}]}, {"caption": "x"}])
    migrate(db)
    assert sorted(map(tuple, (post["tag_names"] for post in db.posts.find()))) == [(), ("dog", "beach")]


def test_find_by_ids_keys_found_documents_by_id_and_leaves_missing_ones_out(db):
    ids = db.things.insert_many([{"n": number} for number in range(3)]).inserted_ids
    found = find_by_ids(db.things, [ids[2], ObjectId(), ids[0], ids[2]], {"n": 1})
    assert found == {ids[2]: {"_id": ids[2], "n": 2}, ids[0]: {"_id": ids[0], "n": 0}}
    assert find_by_ids(db.things, []) == {}


def test_a_job_whose_worker_died_is_taken_over_after_its_lease(db):
    queue.register_handler("test-noop", lambda payload: None)
    queue.enqueue(db, "test-noop", {"n": 1})
    first = queue.claim(db, "worker-that-dies", ["test-noop"], lease_seconds=1)
    assert first is not None
    assert queue.claim(db, "other", ["test-noop"]) is None  # leased
    time.sleep(1.2)
    second = queue.claim(db, "other", ["test-noop"])
    assert second["_id"] == first["_id"] and second["attempts"] == 2


def test_failed_jobs_back_off_then_fail_for_good(db):
    queue.enqueue(db, "test-flaky", {}, max_attempts=2)
    job = queue.claim(db, "w", ["test-flaky"])
    job["worker"] = "w"
    assert queue.fail(db, job, RuntimeError("smtp down")) == "queued"
    stored = db.jobs.find_one({"_id": job["_id"]})
    assert stored["run_at"] > job["updated_at"] and "smtp down" in stored["last_error"]
    db.jobs.update_one({"_id": job["_id"]}, {"$set": {"run_at": stored["created_at"]}})
    job = queue.claim(db, "w", ["test-flaky"])
    job["worker"] = "w"
    assert queue.fail(db, job, RuntimeError("still down")) == "failed"


def test_cli_creates_an_admin(runner, db):
    result = runner.invoke(args=["users", "create", "--username", "root", "--email", "root@example.com",
                                 "--password", "a long admin password", "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert db.users.find_one({"username": "root"})["role"] == "admin"
    again = runner.invoke(args=["users", "create", "--username", "root", "--email", "r2@example.com",
                                "--password", "a long admin password"])
    assert again.exit_code != 0 and "already taken" in again.output
