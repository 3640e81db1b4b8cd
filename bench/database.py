"""What the embedded server costs: inserts with mongoeco's stock engine and with ours, queries."""
import asyncio
import tempfile
import threading
import time
from pathlib import Path

import pymongo

from app.core.embedded_mongo import wire_server


def _serve_in_thread(path: Path, stock: bool) -> str:
    loop = asyncio.new_event_loop()
    server = wire_server(path, 0, stock)
    address = loop.run_until_complete(server.start())
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return f"mongodb://127.0.0.1:{address.port}/?directConnection=true"


def _insert_cost(uri: str, count: int) -> dict:
    collection = pymongo.MongoClient(uri).bench.posts
    collection.create_index([("author_id", 1), ("created_at", -1)])
    collection.create_index([("created_at", -1)])
    latencies = []
    for number in range(count):
        started = time.perf_counter()
        collection.insert_one({"author_id": number % 100, "created_at": number, "caption": "x" * 200})
        latencies.append(time.perf_counter() - started)
    last = latencies[-100:]
    return {"docs": count, "last_100_ms": sum(last) / len(last) * 1000, "total_s": sum(latencies)}


def _query_costs(uri: str) -> dict:
    collection = pymongo.MongoClient(uri).bench.posts
    some_id = collection.find_one()["_id"]

    def timed(function, repeat=20):
        started = time.perf_counter()
        for _ in range(repeat):
            function()
        return (time.perf_counter() - started) / repeat * 1000

    return {
        "find_one by _id": timed(lambda: collection.find_one({"_id": some_id})),
        "indexed equality + sort + limit 20": timed(
            lambda: list(collection.find({"author_id": 5}).sort("created_at", -1).limit(20))),
        "sort + limit 20 (whole collection)": timed(lambda: list(collection.find().sort("created_at", -1).limit(20))),
        "feed shape: 10 authors' newest 20, (created_at, _id) order": timed(
            lambda: list(collection.find({"author_id": {"$in": list(range(10))}})
                         .sort([("created_at", -1), ("_id", -1)]).limit(20))),
        "the same sorted by a field without its own index": timed(
            lambda: list(collection.find({"author_id": {"$in": list(range(10))}})
                         .sort([("caption", -1), ("_id", -1)]).limit(20))),
        "update_one by _id": timed(lambda: collection.update_one({"_id": some_id}, {"$inc": {"n": 1}})),
        "count_documents (indexed field)": timed(lambda: collection.count_documents({"author_id": 7})),
    }


def run(log=print) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="glimpse-bench-db-"))
    stock_uri = _serve_in_thread(folder / "stock.sqlite3", stock=True)
    ours_uri = _serve_in_thread(folder / "ours.sqlite3", stock=False)
    log("  inserts, stock engine, 1k docs")
    stock = _insert_cost(stock_uri, 1000)
    log("  inserts, our engine, 10k docs")
    ours = _insert_cost(ours_uri, 10_000)
    return {"stock_1k": stock, "ours_10k": ours, "queries_10k": _query_costs(ours_uri)}
