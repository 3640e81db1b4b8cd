"""Health check, API errors, the embedded server and the job queue."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pymongo
import pytest
from bson import Decimal128, ObjectId
from helpers import free_port

from app import create_app
from app.core import embedded_mongo
from app.core.clock import utc_now
from app.core.embedded_engine import SORT_MATCHES_BELOW, IdleConnections, ReusableConnection
from app.core.jobs import queue


def test_healthz_reports_the_database_and_search(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "search": "not_loaded"}
    assert client.get("/api/v1/search", query_string={"q": "dog"}).status_code == 200
    assert client.get("/healthz").get_json()["search"] == "ready"


def test_healthz_is_503_when_the_database_is_unreachable(app_config):
    app = create_app({**app_config, "MONGODB_URI": "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&directConnection=true"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_api_errors_are_json_with_code_and_message(client):
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404
    assert set(response.get_json()["error"]) >= {"code", "message"}
    assert client.delete("/api/v1/explore").get_json()["error"]["code"] == "method_not_allowed"


def test_embedded_server_is_shared_survives_kill_9_and_keeps_data(tmp_path):
    data_dir = tmp_path / "data"
    uri = embedded_mongo.ensure_server(data_dir)
    assert embedded_mongo.ensure_server(data_dir) == uri  # a second process joins, never starts another
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=3000)
    client.glimpse.things.insert_one({"name": "kept"})
    client.glimpse.ranked.create_index("rank")
    client.glimpse.ranked.insert_many([{"rank": 3}, {"rank": 1}, {"rank": 2}])
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
    # The index entries written before the crash still serve (our engine does not rebuild them).
    client.glimpse.ranked.insert_one({"rank": 0})
    assert [thing["rank"] for thing in client.glimpse.ranked.find().sort("rank", -1)] == [3, 2, 1, 0]
    client.close()
    assert embedded_mongo.stop_server(data_dir)
    assert not embedded_mongo.stop_server(data_dir)


def test_stopping_a_server_that_does_not_stop_kills_it(tmp_path):
    # A long query can hold up the embedded server's shutdown: stop_server must not report a
    # server stopped while it still runs.
    port = free_port()
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, socket, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         f"listener = socket.create_server(('127.0.0.1', {port})); print('up', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert stubborn.stdout.readline() == "up\n"
        (tmp_path / embedded_mongo.STATE_FILE).write_text(json.dumps({"pid": stubborn.pid, "port": port}))
        assert embedded_mongo.stop_server(tmp_path, grace_seconds=0.5)
        assert stubborn.wait(5) == -signal.SIGKILL
    finally:
        stubborn.kill()
        stubborn.wait()


def test_collection_indexes_cover_only_their_collection_and_still_serve(tmp_path):
    # Our engine makes mongoeco's indexes on the table all collections share partial to their
    # collection (each insert computed every collection's index expressions), on creation and,
    # for older data, at start.
    data_dir = tmp_path / "data"
    database_file = data_dir / embedded_mongo.DATABASE_FILE

    def document_indexes() -> list[str]:
        with closing(sqlite3.connect(database_file)) as database:
            return [sql for (sql,) in database.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents' AND sql IS NOT NULL")]

    def found(client) -> list:
        return sorted(pair["b"] for pair in client.glimpse.pairs.find({"a": 1, "b": {"$lt": 10}}))

    try:
        client = pymongo.MongoClient(embedded_mongo.ensure_server(data_dir), serverSelectionTimeoutMS=3000)
        client.glimpse.pairs.create_index([("a", 1), ("b", 1)])
        client.glimpse.pairs.insert_many([{"a": n % 3, "b": n} for n in range(30)])
        client.glimpse.others.insert_one({"a": 1, "b": 1})
        assert found(client) == [1, 4, 7]
        hinted = client.glimpse.pairs.find({"a": 1, "b": {"$lt": 10}}).hint([("a", 1), ("b", 1)])
        assert sorted(pair["b"] for pair in hinted) == [1, 4, 7]
        assert client.glimpse.pairs.count_documents({"a": 1}, hint=[("a", 1), ("b", 1)]) == 10
        assert client.glimpse.pairs.update_many({"a": 2}, {"$set": {"c": 1}}, hint=[("a", 1), ("b", 1)]).modified_count == 10
        assert client.glimpse.pairs.delete_one({"b": 29}, hint=[("a", 1), ("b", 1)]).deleted_count == 1
        plan = client.glimpse.pairs.find({"a": 1, "b": 4}).explain()["details"]["engine_details"]
        assert any("USING INDEX idx_" in step for step in plan)
        [definition] = document_indexes()
        assert definition.endswith(" WHERE db_name = 'glimpse' AND coll_name = 'pairs'")
        client.close()
        embedded_mongo.stop_server(data_dir)
        with closing(sqlite3.connect(database_file)) as database, database:  # as an older server left it
            name = database.execute("SELECT name FROM sqlite_master WHERE sql = ?", (definition,)).fetchone()[0]
            database.execute(f'DROP INDEX "{name}"')
            database.execute(definition.split(" WHERE ")[0])
        client = pymongo.MongoClient(embedded_mongo.ensure_server(data_dir), serverSelectionTimeoutMS=3000)
        assert document_indexes() == [definition] and found(client) == [1, 4, 7]
        client.close()
    finally:
        embedded_mongo.stop_server(data_dir)


def test_writes_leave_no_change_history_behind(tmp_path):
    # Glimpse opens no change streams; mongoeco kept every write for them in an outbox and handed
    # each on under a lease of its own, which cost half of a post update.
    data_dir = tmp_path / "data"
    try:
        client = pymongo.MongoClient(embedded_mongo.ensure_server(data_dir), serverSelectionTimeoutMS=3000)
        things = client.glimpse.things
        things.insert_many([{"n": n} for n in range(5)])
        for n in range(5):
            things.update_one({"n": n}, {"$inc": {"n": 10}})
        things.delete_one({"n": 10})
        assert numbers_matching(things, {}) == [11, 12, 13, 14]
        with closing(sqlite3.connect(data_dir / embedded_mongo.DATABASE_FILE)) as database:
            assert database.execute("SELECT COUNT(*) FROM change_outbox").fetchone() == (0,)
            assert database.execute("SELECT COUNT(*) FROM change_outbox_consumers").fetchone() == (0,)
        client.close()
    finally:
        embedded_mongo.stop_server(data_dir)


def numbers_matching(collection, query) -> list:
    """The `n` of every document the query finds, sorted."""
    return sorted(document["n"] for document in collection.find(query))


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

    assert numbers_matching(db.things, {"values": 1}) == [1]
    assert numbers_matching(db.things, {"values": 2}) == [2]
    assert numbers_matching(db.things, {"values": "a"}) == [1, 3]
    assert numbers_matching(db.things, {"values": {"$in": ["b", 2]}}) == [2, 4]
    assert numbers_matching(db.things, {"values": "c"}) == []
    assert numbers_matching(db.things, {"values": None}) == [4]
    assert numbers_matching(db.things, {"values": {"$in": ["a", "b"]}}) == [1, 3, 4]
    db.things.update_one({"n": 3}, {"$set": {"values": ["z"]}})
    db.things.update_one({"n": 5}, {"$set": {"values": "b"}})
    assert numbers_matching(db.things, {"values": "a"}) == [1]
    assert numbers_matching(db.things, {"values": {"$in": ["b", "z"]}}) == [3, 4, 5]


def test_indexed_string_lookups_answer_as_mongodb_does_before_and_after_an_array(db):
    # While no document holds an array at an indexed field, our engine reads string equality and
    # `$in` off the index's scalar entries; an array arriving must not be missed.
    db.names.create_index("name", unique=True)
    db.names.insert_many([{"n": 1, "name": "ada"}, {"n": 2, "name": "bo"}, {"n": 3, "name": 3},
                          {"n": 4}, {"n": 5, "name": {"first": "ada"}}, {"n": 6, "name": "Ada"}])

    assert numbers_matching(db.names, {"name": "ada"}) == [1]
    assert numbers_matching(db.names, {"name": {"$in": ["bo", "ada", "cy"]}}) == [1, 2]
    assert numbers_matching(db.names, {"name": "cy"}) == []
    assert numbers_matching(db.names, {"name": {"$in": ["3", "Ada"]}}) == [6]
    plan = db.names.find({"name": {"$in": ["ada", "bo"]}}).explain()["details"]
    assert any("scalar_index_entries" in step for step in plan["engine_details"])
    db.names.update_one({"n": 2}, {"$set": {"name": "cy"}})
    assert numbers_matching(db.names, {"name": {"$in": ["bo", "cy"]}}) == [2]
    db.names.insert_one({"n": 7, "name": ["dee", "eve"]})
    assert numbers_matching(db.names, {"name": "eve"}) == [7]
    assert numbers_matching(db.names, {"name": {"$in": ["ada", "dee"]}}) == [1, 7]


def test_id_lookups_answer_as_mongodb_does(db):
    # Our engine answers _id conditions on ObjectIds and strings by storage key.
    ids = db.things.insert_many([{"n": 0}, {"_id": "text", "n": 1}, {"_id": 2, "n": 2}]).inserted_ids

    assert numbers_matching(db.things, {"_id": {"$in": [ids[0], "text", ObjectId()]}}) == [0, 1]
    assert numbers_matching(db.things, {"_id": ObjectId()}) == []
    assert numbers_matching(db.things, {"_id": "missing"}) == []
    assert numbers_matching(db.things, {"_id": str(ids[0])}) == []  # a string is not the ObjectId it spells
    assert numbers_matching(db.things, {"$and": [{"_id": {"$in": ["text", ids[0]]}}, {"n": {"$gte": 1}}]}) == [1]
    assert numbers_matching(db.things, {"_id": {"$in": [2.0]}}) == [2]  # numbers still compare by value
    db.things.delete_one({"_id": "text"})
    assert numbers_matching(db.things, {"_id": {"$in": [ids[0], "text"]}}) == [0]


def test_in_over_object_ids_answers_as_mongodb_does(db):
    # Our engine says `field: {$in: [ObjectId...]}` as one IN while no document holds an array there.
    first, second, third = ObjectId(), ObjectId(), ObjectId()
    db.things.insert_many([{"n": 0, "who": first}, {"n": 1, "who": second}, {"n": 2, "who": str(first)}, {"n": 3}])

    assert numbers_matching(db.things, {"who": {"$in": [first, third]}}) == [0]
    db.things.insert_one({"n": 4, "who": [third, second]})
    assert numbers_matching(db.things, {"who": {"$in": [first, third]}}) == [0, 4]


def test_each_read_of_many_documents_sees_the_data_as_it_began(db):
    # Our engine hands a finished read's SQLite connection to the next read; each read must
    # still begin a snapshot of its own.
    db.pages.insert_many([{"n": n} for n in range(10)])
    for expected in (list(range(10)), list(range(10))):  # the second read reuses the first's connection
        assert numbers_matching(db.pages, {}) == expected
    cursor = db.pages.find({}, batch_size=2)
    seen = [next(cursor)["n"] for _ in range(2)]
    db.pages.insert_one({"n": 10})
    assert sorted(seen + [page["n"] for page in cursor]) == list(range(10))
    assert numbers_matching(db.pages, {}) == list(range(11))


def test_writes_after_documents_expire_are_seen_by_every_read(db):
    # The embedded server removes expired documents when a read meets them, after its own commit;
    # what it then noted for its caches must not open a transaction that nothing ever commits.
    db.expiring.create_index("expires_at", expireAfterSeconds=0)
    db.expiring.insert_many([{"n": n, "expires_at": utc_now() + timedelta(minutes=5)} for n in (0, 1)])
    db.expiring.update_one({"n": 0}, {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}})
    assert numbers_matching(db.expiring, {}) == [1]
    db.expiring.insert_one({"n": 2, "expires_at": utc_now() + timedelta(minutes=5)})
    db.elsewhere.insert_one({"n": 3})
    assert numbers_matching(db.expiring, {}) == [1, 2]
    assert numbers_matching(db.elsewhere, {}) == [3]


def test_a_closed_connection_is_kept_rolled_back_until_the_pool_is_full(tmp_path):
    idle = IdleConnections(kept=1)
    first, second = (sqlite3.connect(tmp_path / "kept.sqlite3", factory=ReusableConnection) for _ in range(2))
    first.idle_connections = second.idle_connections = idle
    first.execute("CREATE TABLE numbers (n)")
    first.execute("INSERT INTO numbers VALUES (1)")  # opens a transaction, left unfinished
    first.close()
    second.close()
    assert idle.take() is first and not first.in_transaction
    assert first.execute("SELECT COUNT(*) FROM numbers").fetchone() == (0,)
    assert idle.take() is None
    with pytest.raises(sqlite3.ProgrammingError):  # no room left for it: really closed
        second.execute("SELECT 1")
    first.close()
    idle.close_all()
    with pytest.raises(sqlite3.ProgrammingError):
        first.execute("SELECT 1")


def test_decimals_still_compare_as_numbers_where_other_fields_skip_the_decimal_scan(db):
    # Our engine asks whether a field holds decimals only where the query could compare it with a
    # number (not for equality with strings or ObjectIds).
    db.things.insert_many([{"_id": "a", "n": 1, "s": "x", "v": 1},
                           {"_id": Decimal128("2"), "n": 2, "s": "y", "v": Decimal128("2")},
                           {"_id": 3, "n": 3, "s": "z", "v": 3}])

    assert numbers_matching(db.things, {"_id": {"$in": ["a", "b"]}}) == [1]
    assert numbers_matching(db.things, {"s": "x"}) == [1]
    assert numbers_matching(db.things, {"_id": 2}) == numbers_matching(db.things, {"v": 2}) == [2]
    assert numbers_matching(db.things, {"v": {"$gte": 2}}) == [2, 3]
    assert numbers_matching(db.things, {"$or": [{"s": "z"}, {"v": {"$lt": 3}}]}) == [1, 2, 3]
    assert numbers_matching(db.things, {"s": "y", "v": {"$lte": 2}}) == [2]
    assert numbers_matching(db.things, {"_id": {"$in": ["a", 2]}}) == [1, 2]


def test_a_decimal_written_after_a_query_still_equals_the_same_number(db):
    # Our engine keeps "no decimals in this field" across writes unless a written document has one.
    db.prices.insert_many([{"name": "low", "price": 1}, {"name": "high", "price": 2}])
    assert [price["name"] for price in db.prices.find({"price": 1.5})] == []
    db.prices.update_one({"name": "low"}, {"$set": {"price": Decimal128("1.5")}})
    assert [price["name"] for price in db.prices.find({"price": 1.5})] == ["low"]
    db.prices.insert_one({"name": "other", "price": Decimal128("2")})
    assert sorted(price["name"] for price in db.prices.find({"price": 2})) == ["high", "other"]


def test_what_a_write_brings_in_is_seen_by_the_next_query(db):
    # Our engine keeps "no document has an array / a double here" across writes
    # unless a written document has one; each first query below makes it learn such a fact.
    db.facts.insert_many([{"n": 1, "tags": 1, "a": {"b": 1}}, {"n": 2, "tags": 2, "a": {"b": 2}}])

    def names(query):
        return sorted(fact["name"] for fact in db.facts.find(query))

    assert names({"tags": 3}) == []
    db.facts.insert_one({"name": "array", "tags": [1, 3]})
    assert names({"tags": 3}) == ["array"]
    assert names({"n": {"$mod": [2, 0]}, "name": {"$exists": True}}) == []
    db.facts.insert_one({"name": "double", "n": 4.0})
    assert names({"n": {"$mod": [2, 0]}, "name": {"$exists": True}}) == ["double"]
    assert names({"a.b": 5}) == []
    db.facts.update_one({"name": "array"}, {"$set": {"a": [{"b": 5}]}})
    assert names({"a.b": 5}) == ["array"]


def test_projections_answer_as_mongodb_does(db):
    # Our engine drops the fields an inclusion projection cannot read before decoding the rest.
    friends = [ObjectId(), ObjectId()]
    born = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    db.shapes.insert_one({"_id": 7, "name": "a", "friends": friends, "nested": {"x": born, "y": [1, 2]}, "n": 2})

    def projected(projection, query=None):
        return db.shapes.find_one(query or {}, projection)

    assert projected({"name": 1}) == {"_id": 7, "name": "a"}
    assert projected({"nested.x": 1, "_id": 0}) == {"nested": {"x": born}}
    assert projected({"friends": True, "n": 1}) == {"_id": 7, "friends": friends, "n": 2}
    assert projected({"name": 0, "nested": 0}) == {"_id": 7, "friends": friends, "n": 2}
    assert projected({"_id": 0}) == {"name": "a", "friends": friends, "nested": {"x": born, "y": [1, 2]}, "n": 2}
    assert projected({"friends": {"$slice": 1}}) == {"_id": 7, "name": "a", "friends": friends[:1],
                                                     "nested": {"x": born, "y": [1, 2]}, "n": 2}
    assert projected({"friends.$": 1}, {"friends": friends[1]}) == {"_id": 7, "friends": friends[1:]}


def test_sorts_read_off_an_index_answer_as_mongodb_does(db):
    # Our engine walks a single-field index for sorts like the feeds' (field, then _id); the order,
    # the filter, skip and the cursor condition must come out as MongoDB's.
    db.events.create_index([("score", -1)])
    db.events.create_index([("at", -1)])
    start = datetime(2026, 1, 1)
    scores = [3, -2, 0.5, 3, 1e9, -7.25, 3, 0, 12, 0.5]
    db.events.insert_many([{"n": n, "score": score, "even": n % 2 == 0,
                            "at": start + timedelta(seconds=n // 3, milliseconds=(n % 3) * 250)}
                           for n, score in enumerate(scores)])
    everything = list(db.events.find())

    def found(query, sort, skip=0, limit=0):
        return [event["n"] for event in db.events.find(query).sort(sort).skip(skip).limit(limit)]

    def expected(keep, field, direction, skip=0, limit=None):
        ordered = sorted((event for event in everything if keep(event)),
                         key=lambda event: (event[field], event["_id"]), reverse=direction == -1)
        return [event["n"] for event in ordered][skip:None if limit is None else skip + limit]

    for field in ("score", "at"):
        for direction in (-1, 1):
            sort = [(field, direction), ("_id", direction)]
            assert found({}, sort) == expected(lambda event: True, field, direction)
            assert found({"even": True}, sort, limit=3) == expected(lambda event: event["even"], field, direction, limit=3)
            assert found({}, sort, skip=4, limit=3) == expected(lambda event: True, field, direction, skip=4, limit=3)
    last = db.events.find_one({"n": 3})
    after_last = {"$or": [{"score": {"$lt": 3}}, {"score": 3, "_id": {"$lt": last["_id"]}}]}
    assert found(after_last, [("score", -1), ("_id", -1)]) == expected(
        lambda event: (event["score"], event["_id"]) < (3, last["_id"]), "score", -1)
    first = db.events.find_one_and_update({"even": True}, {"$set": {"picked": True}}, sort=[("at", -1), ("_id", -1)])
    assert first["n"] == expected(lambda event: event["even"], "at", -1)[0]
    plan = db.events.find({"even": True}).sort([("at", -1), ("_id", -1)]).limit(3).explain()["details"]
    assert any("scalar_index_entries" in step for step in plan["engine_details"])
    assert not any("TEMP B-TREE" in step for step in plan["engine_details"])


def test_a_sort_of_the_few_posts_of_some_authors_answers_as_mongodb_does(db):
    # Where the filter asks for ObjectIds at a field an index leads with (the home and profile
    # feeds' authors) and fewer than SORT_MATCHES_BELOW documents hold them, our engine finds them
    # through that index and sorts them, instead of walking the sort index past all the others.
    db.events.create_index([("author", 1), ("at", -1)])
    db.events.create_index([("at", -1)])
    authors = [ObjectId() for _ in range(4)]
    start = datetime(2026, 1, 1)
    db.events.insert_many([{"n": n, "author": authors[n % 4], "at": start + timedelta(seconds=n // 3)}
                           for n in range(40)])

    def found(query, skip=0, limit=0):
        return [event["n"] for event in db.events.find(query).sort([("at", -1), ("_id", -1)]).skip(skip).limit(limit)]

    def expected(wanted, skip=0, limit=None):
        ordered = sorted((event for event in db.events.find() if event["author"] in wanted),
                         key=lambda event: (event["at"], event["_id"]), reverse=True)
        return [event["n"] for event in ordered][skip:None if limit is None else skip + limit]

    some = {"$in": authors[:2]}
    assert found({"author": some}, limit=5) == expected(authors[:2], limit=5)
    assert found({"author": some}, skip=3, limit=4) == expected(authors[:2], skip=3, limit=4)
    assert found({"author": authors[3]}) == expected(authors[3:])
    last = db.events.find_one({"n": expected(authors[:2], limit=5)[-1]})
    next_page = {"$and": [{"author": some}, {"$or": [{"at": {"$lt": last["at"]}},
                                                       {"at": last["at"], "_id": {"$lt": last["_id"]}}]}]}
    assert found(next_page, limit=5) == expected(authors[:2], skip=5, limit=5)

    def plan(query) -> list[str]:
        return db.events.find(query).sort([("at", -1), ("_id", -1)]).limit(5).explain()["details"]["engine_details"]

    assert any("TEMP B-TREE" in step for step in plan({"author": some}))
    db.events.insert_many([{"n": n, "author": authors[0], "at": start + timedelta(seconds=n)}
                           for n in range(40, 40 + SORT_MATCHES_BELOW)])
    assert not any("TEMP B-TREE" in step for step in plan({"author": some}))  # many: the walk again
    assert found({"author": some}, limit=5) == expected(authors[:2], limit=5)


def test_a_sort_of_the_few_matches_of_an_or_of_indexed_conditions_answers_as_mongodb_does(db):
    # Keyword search's shape: tags (arrays of strings), or authors (ObjectIds), newest first.
    # With few matches our engine reads their keys off the indexes and sorts them; walking the
    # sort index instead passed every document when nothing matched.
    db.events.create_index([("tags", 1)])
    db.events.create_index([("author", 1), ("at", -1)])
    db.events.create_index([("at", -1)])
    authors = [ObjectId() for _ in range(3)]
    start = datetime(2026, 1, 1)
    db.events.insert_many([{"n": n, "author": authors[n % 3], "at": start + timedelta(seconds=n // 2),
                            "tags": ["sun", "sea"][: n % 3], "status": "shown" if n % 5 else "hidden"}
                           for n in range(60)])
    query = {"status": "shown", "$or": [{"tags": {"$in": ["sea", "snow"]}}, {"author": authors[0]}]}

    def found(skip=0, limit=0):
        return [event["n"] for event in db.events.find(query).sort([("at", -1), ("_id", -1)]).skip(skip).limit(limit)]

    def expected(skip=0, limit=None):
        wanted = [event for event in db.events.find() if event["status"] == "shown"
                  and ({"sea", "snow"} & {*event["tags"]} or event["author"] == authors[0])]
        ordered = sorted(wanted, key=lambda event: (event["at"], event["_id"]), reverse=True)
        return [event["n"] for event in ordered][skip:None if limit is None else skip + limit]

    def plan() -> list[str]:
        return db.events.find(query).sort([("at", -1), ("_id", -1)]).limit(5).explain()["details"]["engine_details"]

    assert found(limit=5) == expected(limit=5)
    assert found(skip=7, limit=6) == expected(skip=7, limit=6)
    assert found() == expected()
    assert db.events.count_documents(query) == len(expected())
    assert any("TEMP B-TREE" in step for step in plan())
    db.events.insert_many([{"n": n, "author": ObjectId(), "at": start + timedelta(seconds=n), "tags": ["snow"],
                            "status": "shown"} for n in range(60, 60 + SORT_MATCHES_BELOW)])
    assert not any("TEMP B-TREE" in step for step in plan())  # many: the walk again
    assert found(limit=5) == expected(limit=5)


def test_a_sort_after_a_write_that_breaks_the_index_order_still_sees_every_document(db):
    # The walk is only taken while every document holds a number (or every one a date) at the
    # field and an ObjectId as _id; writes that end that must send the next sort back to the full sort.
    db.events.create_index([("score", -1)])
    db.events.insert_many([{"n": 0, "score": 1}, {"n": 1, "score": 2}])

    def newest_first():
        return [event["n"] for event in db.events.find().sort([("score", -1), ("_id", -1)])]

    assert newest_first() == [1, 0]
    db.events.insert_one({"n": 2})  # no score: sorts as null, after every number when descending
    assert newest_first() == [1, 0, 2]
    db.events.delete_one({"n": 2})
    assert newest_first() == [1, 0]
    db.events.insert_one({"_id": "text", "n": 3, "score": 2})  # a string _id sorts before ObjectIds
    assert newest_first() == [1, 3, 0]
    db.events.delete_one({"n": 3})
    db.events.insert_one({"n": 4, "score": datetime(2026, 1, 1)})  # dates sort after every number
    assert newest_first() == [4, 1, 0]


def test_a_job_whose_worker_died_is_taken_over_after_its_lease(db):
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
