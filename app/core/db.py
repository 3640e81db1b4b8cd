"""The one owner of the MongoDB client, the database handle, GridFS and every index.

Everything else asks `get_db()` (or `get_fs()`) inside an app context; nothing else builds a
MongoClient. The same code runs on Atlas and on the embedded server.
"""
import threading
from collections.abc import Callable, Mapping
from typing import Any

import gridfs
import pymongo
from flask import Flask, current_app
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database

from app.core import embedded_mongo

# A stored document as pymongo hands it back, and the database handle every service takes.
type Document = dict[str, Any]
type MongoDatabase = Database[Document]

# One client per URI per process: pymongo clients are thread-safe and pool connections.
_clients: dict[str, pymongo.MongoClient[Document]] = {}
_clients_lock = threading.Lock()

CAUGHT_MAIL_SECONDS = 24 * 3600

INDEXES: dict[str, list[IndexModel]] = {
    "users": [
        IndexModel([("username_lower", ASCENDING)], unique=True, name="username_unique"),
        IndexModel([("email_lower", ASCENDING)], unique=True, name="email_unique"),
    ],
    "rate_limits": [
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl"),
    ],
    "jobs": [
        IndexModel([("status", ASCENDING), ("run_at", ASCENDING)], name="claimable"),
    ],
    "posts": [
        IndexModel([("author_id", ASCENDING), ("created_at", DESCENDING)], name="by_author"),
        IndexModel([("hashtags", ASCENDING)], name="by_hashtag"),
        # tag_names mirrors tags.name: the embedded server cannot use an index through an array of
        # subdocuments and reads every post in Python instead (800 ms at 10k posts).
        IndexModel([("tag_names", ASCENDING)], name="by_tag_name"),
        IndexModel([("status_token_hash", ASCENDING)], unique=True, sparse=True, name="anonymous_status"),
        IndexModel([("status", ASCENDING), ("created_at", DESCENDING)], name="newest"),
        # Single-field, for the feeds' sorts: the embedded server walks only those in order
        # (app/core/embedded_engine.py). On Atlas `hot` serves explore; home uses by_author.
        IndexModel([("created_at", DESCENDING)], name="created_at"),
        IndexModel([("hot", DESCENDING)], name="hot"),
    ],
    # likes, follows and saves are unique by their _id ("post:user"...); see app/social/keys.py.
    "likes": [
        IndexModel([("post_id", ASCENDING)], name="by_post"),
        IndexModel([("user_id", ASCENDING), ("created_at", DESCENDING)], name="by_user"),
    ],
    "follows": [
        IndexModel([("follower_id", ASCENDING), ("created_at", DESCENDING)], name="following"),
        IndexModel([("followee_id", ASCENDING), ("created_at", DESCENDING)], name="followers"),
    ],
    "blocks": [
        IndexModel([("blocker_id", ASCENDING), ("created_at", DESCENDING)], name="by_blocker"),
    ],
    "follow_requests": [
        IndexModel([("owner_id", ASCENDING), ("created_at", DESCENDING)], name="by_owner"),
    ],
    "mutes": [
        IndexModel([("muter_id", ASCENDING), ("created_at", DESCENDING)], name="by_muter"),
    ],
    "comments": [
        IndexModel([("post_id", ASCENDING), ("created_at", DESCENDING)], name="by_post"),
        # An account's comments, found when it is deleted.
        IndexModel([("author_id", ASCENDING)], name="by_author"),
    ],
    "saves": [
        IndexModel([("user_id", ASCENDING), ("post_id", ASCENDING)], name="by_user_post"),
        IndexModel([("user_id", ASCENDING), ("collection", ASCENDING), ("created_at", DESCENDING)], name="by_collection"),
    ],
    "notifications": [
        IndexModel([("user_id", ASCENDING), ("created_at", DESCENDING)], name="inbox"),
    ],
    # GridFS: a post's (or user's) files are found by the owner written into their metadata.
    "fs.files": [
        IndexModel([("metadata.post_id", ASCENDING)], name="by_post", sparse=True),
        IndexModel([("metadata.user_id", ASCENDING)], name="by_user", sparse=True),
    ],
    "reports": [
        IndexModel([("target_type", ASCENDING), ("target_id", ASCENDING), ("reporter_id", ASCENDING)],
                   unique=True, partialFilterExpression={"open": True}, name="one_open_report_each"),
        IndexModel([("open", ASCENDING), ("target_type", ASCENDING)], name="open_reports"),
    ],
    "audit_log": [
        IndexModel([("at", DESCENDING)], name="newest"),
        IndexModel([("action", ASCENDING), ("at", DESCENDING)], name="by_action"),
        IndexModel([("actor", ASCENDING), ("at", DESCENDING)], name="by_actor"),
    ],
    # Downloads of an account's data: one per account, gone a day after it is ready (its zip in
    # GridFS goes with it: app/accounts/export.py).
    "exports": [
        IndexModel([("user_id", ASCENDING)], unique=True, name="one_per_account"),
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl"),
    ],
    # One document a second of the posts written in it, read by key (app/posts/changes.py).
    "post_changes": [
        IndexModel([("at", ASCENDING)], expireAfterSeconds=3600, name="recent_ttl"),
    ],
    "vector_changes": [
        IndexModel([("at", ASCENDING)], expireAfterSeconds=3600, name="recent_ttl"),
    ],
    # Caught mail holds reset links: the development viewer keeps it a day, not forever.
    "dev_mail": [
        IndexModel([("sent_at", ASCENDING)], expireAfterSeconds=CAUGHT_MAIL_SECONDS, name="expiry_ttl"),
    ],
}


# Indexes earlier versions created and nothing reads any more: each still takes space and is kept
# up to date at every write. Likes, follows and saves are now unique by their _id.
RETIRED_INDEXES: dict[str, list[str]] = {
    "posts": ["by_tag", "hottest"],
    "likes": ["one_like_each"],
    "follows": ["one_follow_each"],
    "saves": ["one_save_each"],
    "dev_mail": ["newest_first"],
}


def init_app(app: Flask, data_migrations: Callable[[MongoDatabase], object]) -> None:
    """`data_migrations(db)` runs once per process, after the indexes, at the first get_db
    (create_app passes app/maintenance/migrations.py's: core knows no feature's documents)."""
    app.extensions["glimpse_db"] = {"uri": None, "prepared": False, "lock": threading.Lock(),
                                    "data_migrations": data_migrations}


def mongodb_uri(config: Mapping[str, Any]) -> str:
    return config["MONGODB_URI"] or embedded_mongo.ensure_server(config["GLIMPSE_DATA_DIR"])


def forget_connection() -> None:
    """After a connection failure: find (or restart) the embedded server again on next use."""
    current_app.extensions["glimpse_db"]["uri"] = None


def client_for(uri: str) -> pymongo.MongoClient[Document]:
    with _clients_lock:
        client = _clients.get(uri)
        if client is None:
            client = pymongo.MongoClient(
                uri, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000, tz_aware=True
            )
            _clients[uri] = client
        return client


def get_db() -> MongoDatabase:
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's target
    state = app.extensions["glimpse_db"]
    if state["uri"] is None:
        state["uri"] = mongodb_uri(app.config)
    db = client_for(state["uri"])[app.config["MONGODB_DB"]]
    if not state["prepared"]:
        with state["lock"]:
            if not state["prepared"]:
                ensure_indexes(db)
                state["data_migrations"](db)
                state["prepared"] = True
    return db


def get_fs() -> gridfs.GridFS:
    # Kept: making one costs more than a thumbnail's own bookkeeping (~40 us).
    db = get_db()
    state = current_app.extensions["glimpse_db"]
    kept = state.get("fs")
    if kept is None or kept[0] is not db.client or kept[1] != db.name:
        kept = state["fs"] = (db.client, db.name, gridfs.GridFS(db))
    return kept[2]


def is_embedded_server(db: MongoDatabase) -> bool:
    return db.client.admin.command("buildInfo").get("gitVersion") == "mongoeco"


def ensure_indexes(db: MongoDatabase) -> None:
    for collection, models in INDEXES.items():
        db[collection].create_indexes(models)
    # GridFS asks for a unique (files_id, n) index on its chunks unless one with that key exists.
    # The embedded server checks a unique compound index by scanning every chunk on each insert
    # (uploads would slow down as photos accumulate), so there the index is a plain one: GridFS
    # writes each chunk of a file once, from one writer, so duplicates cannot arise from us.
    db["fs.chunks"].create_index([("files_id", ASCENDING), ("n", ASCENDING)], name="files_id_1_n_1",
                                 unique=not is_embedded_server(db))
    drop_retired_indexes(db)


def drop_retired_indexes(db: MongoDatabase) -> None:
    for collection, names in RETIRED_INDEXES.items():
        present = db[collection].index_information()
        for name in set(names) & set(present):
            db[collection].drop_index(name)


def ping() -> None:
    """Raise pymongo's error when the database does not answer."""
    get_db().command("ping")
