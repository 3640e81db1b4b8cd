"""Our embedded engine (app/core/embedded_engine.py) overrides private methods of a pinned mongoeco.
These tests fail when an upgrade of mongoeco would drop or change one of its fixes silently: a
method it overrides, or a name of mongoeco's it uses, is gone or changed; or a query shape the app
relies on answers otherwise than on mongoeco's own engine."""
import ast
import asyncio
import functools
import importlib
import inspect
import re
import textwrap
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import mongoeco
import pymongo
import pytest
from bson import Decimal128, ObjectId
from mongoeco.wire.executor import WireCommandExecutor

from app.core import embedded_engine, embedded_mongo
from app.core.db import INDEXES
from app.social.keys import like_key

ENGINE_TREE = ast.parse(Path(embedded_engine.__file__).read_text())
PASSED_AS_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
PASSED_BY_NAME = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
CATCH_ALLS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def subclasses_of_mongoecos() -> list[tuple[ast.ClassDef, type, type]]:
    """(source, class, mongoeco's class) for each class of our engine's module that extends mongoeco's."""
    found = []
    for node in ENGINE_TREE.body:
        if isinstance(node, ast.ClassDef):
            ours = getattr(embedded_engine, node.name)
            stock = ours.__bases__[0]
            if stock.__module__.startswith("mongoeco."):
                found.append((node, ours, stock))
    return found


def methods_defined(node: ast.ClassDef) -> list[str]:
    return [item.name for item in node.body if isinstance(item, ast.FunctionDef)]


def function_of(attribute):
    """The function behind a method, static or class method, or property."""
    return (getattr(attribute, "__func__", None) or getattr(attribute, "func", None)
            or getattr(attribute, "fget", None) or attribute)


def marked_as_override(ours: type, name: str) -> bool:
    return getattr(function_of(vars(ours)[name]), "__override__", False)


def set_on_self(tree: ast.AST) -> set[str]:
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name) and node.value.id == "self"}


@functools.cache
def stock_attributes(stock: type) -> set[str]:
    """What an instance of `stock` has: its classes' attributes and those their code sets on self."""
    names = set(dir(stock))
    for cls in stock.__mro__:
        if cls.__module__.startswith("mongoeco."):
            names |= set_on_self(ast.parse(textwrap.dedent(inspect.getsource(cls))))
    return names


@functools.cache
def mongoeco_source() -> str:
    return "\n".join(path.read_text() for path in sorted(Path(mongoeco.__file__).parent.rglob("*.py")))


def mongoeco_calls(name: str) -> bool:
    """Whether mongoeco's own code reads `x.name` anywhere (an override it never reads is never called)."""
    return re.search(rf"\.{name}\b", mongoeco_source()) is not None


def signature_mismatches(ours, stock) -> list[str]:
    """How a call mongoeco makes to `stock` would not reach `ours` as meant: each parameter we name
    must be one of stock's, at its position, required only where stock's is; the others of stock's
    must land in our *args or **kwargs."""
    ours_parameters = inspect.signature(ours).parameters
    stock_parameters = inspect.signature(stock).parameters
    catch_alls = {parameter.kind for parameter in ours_parameters.values() if parameter.kind in CATCH_ALLS}
    ours_positions = [name for name, parameter in ours_parameters.items() if parameter.kind in PASSED_AS_POSITIONAL]
    stock_positions = [name for name, parameter in stock_parameters.items() if parameter.kind in PASSED_AS_POSITIONAL]
    problems = []
    for name, parameter in ours_parameters.items():
        if parameter.kind in CATCH_ALLS:
            continue
        if name not in stock_parameters or stock_parameters[name].kind in CATCH_ALLS:
            problems.append(f"mongoeco's has no parameter {name!r}")
        elif name in stock_positions and stock_positions.index(name) != (
                ours_positions.index(name) if name in ours_positions else None):
            problems.append(f"{name!r} is not at mongoeco's position {stock_positions.index(name)}")
        elif parameter.default is parameter.empty and stock_parameters[name].default is not parameter.empty:
            problems.append(f"{name!r} is optional in mongoeco's, required in ours")
    for name, parameter in stock_parameters.items():
        landing = {inspect.Parameter.VAR_POSITIONAL} if parameter.kind in PASSED_AS_POSITIONAL else set()
        landing |= {inspect.Parameter.VAR_KEYWORD} if parameter.kind in PASSED_BY_NAME else set()
        if parameter.kind not in CATCH_ALLS and name not in ours_parameters and not landing & catch_alls:
            problems.append(f"mongoeco's parameter {name!r} has no place in ours")
    return problems


def test_the_classes_checked_below_are_found():
    found = {ours for _, ours, _ in subclasses_of_mongoecos()}
    assert {embedded_engine.GlimpseSQLiteEngine, embedded_engine.ReusableConnection, embedded_engine.IdFindExecutor,
            embedded_engine.GlimpseWireServer} <= found


def test_every_override_still_overrides_a_method_mongoeco_calls_with_the_same_parameters():
    problems = []
    for node, ours, stock in subclasses_of_mongoecos():
        for name in filter(functools.partial(marked_as_override, ours), methods_defined(node)):
            stock_method = inspect.getattr_static(stock, name, None)
            if stock_method is None:
                problems.append(f"{ours.__name__}.{name}: mongoeco's {stock.__name__} has no such method")
                continue
            problems += [f"{ours.__name__}.{name}: {problem}"
                         for problem in signature_mismatches(function_of(vars(ours)[name]), function_of(stock_method))]
            if not name.startswith("__") and not mongoeco_calls(name):
                problems.append(f"{ours.__name__}.{name}: nothing in mongoeco calls it")
    assert problems == []


def test_every_method_that_overrides_one_of_mongoecos_is_marked_as_an_override():
    # The marks are what the test above checks: a method overriding unmarked would go unchecked.
    unmarked = [f"{ours.__name__}.{name}" for node, ours, stock in subclasses_of_mongoecos()
                for name in methods_defined(node)
                if inspect.getattr_static(stock, name, None) is not None and not marked_as_override(ours, name)]
    assert unmarked == []


def mongoeco_names_used() -> list[tuple[int, str]]:
    """(line, dotted name) of each name our engine's module imports from mongoeco or reads off one."""
    imported = {}
    for node in ast.walk(ENGINE_TREE):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mongoeco":
            imported |= {alias.asname or alias.name: f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mongoeco":  # `import a.b` binds a; `import a.b as c`, a.b
                    imported[alias.asname or "mongoeco"] = alias.name if alias.asname else "mongoeco"
    used = set()
    for node in ast.walk(ENGINE_TREE):
        path, root = [], node
        while isinstance(root, ast.Attribute):
            path.insert(0, root.attr)
            root = root.value
        if isinstance(root, ast.Name) and root.id in imported:
            used.add((node.lineno, ".".join([imported[root.id], *path])))
    return sorted(used)


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            functools.reduce(getattr, parts[split:], found)
        except AttributeError:
            return False
        return True
    return False


def test_every_name_of_mongoecos_our_engine_uses_still_exists():
    used = mongoeco_names_used()
    assert any(name.rsplit(".", 1)[-1].startswith("_") for _, name in used)  # private ones among them
    assert [f"line {line}: {name}" for line, name in used if not resolves(name)] == []


def test_every_attribute_our_subclasses_read_off_mongoecos_still_exists():
    # `self.x` where x is not ours (mongoeco's methods and the state its __init__ sets), and `super().x`.
    problems = []
    for node, ours, stock in subclasses_of_mongoecos():
        ours_names = set(vars(ours)) | set_on_self(node)
        for read in ast.walk(node):
            if not isinstance(read, ast.Attribute):
                continue
            of_self = isinstance(read.value, ast.Name) and read.value.id == "self" and read.attr not in ours_names
            of_super = isinstance(read.value, ast.Call) and getattr(read.value.func, "id", None) == "super"
            if (of_self or of_super) and read.attr not in stock_attributes(stock):
                problems.append(f"line {read.lineno}: {ours.__name__} reads {read.attr}, which {stock.__name__} lacks")
    assert problems == []


def test_the_facts_our_engine_keeps_across_writes_are_still_named_as_mongoeco_names_them():
    # Item 6 keeps mongoeco's cached facts across writes by their keys ("top_level_array:<field>"...):
    # under new names they would all be forgotten at each write again.
    kept = set(embedded_engine.ABSENCE_FACTS) | set(embedded_engine.UNIFORMITY_FACTS)
    kept.discard(embedded_engine.EVERY_DOCUMENT_HOLDS)  # ours
    assert [kind for kind in sorted(kept) if f'f"{kind}:' not in mongoeco_source()] == []


# The differential test: the same data, writes and queries on mongoeco's own engine and on ours.

START = datetime(2026, 1, 1)
HASHTAGS = ["sun", "sea", "snow", "dog", "cat", "city"]
TAG_NAMES = ["dog", "beach", "tree", "car", "person"]
NEWEST = [("created_at", -1), ("_id", -1)]
OLDEST = [("created_at", 1), ("_id", 1)]
HOTTEST = [("hot", -1), ("_id", -1)]


def object_id(kind: int, n: int) -> ObjectId:
    """Fixed ObjectIds, in an order unlike the documents' numbers and dates."""
    return ObjectId(f"{kind:08x}{n * 7919 % 10007:016x}")


USERS = [object_id(1, n) for n in range(30)]
POSTS = [object_id(2, n) for n in range(180)]
MISSING = object_id(9, 1)
FIRST, SECOND, THIRD = (object_id(3, n) for n in range(3))


def post(n: int) -> dict:
    author = n % 4 if n % 3 else n % 30  # four authors write most posts, ten others a few each
    hashtags = [HASHTAGS[(n + k) % len(HASHTAGS)] for k in range(n % 4)]
    tags = [{"name": TAG_NAMES[(n * 3 + k) % len(TAG_NAMES)], "score": 0.9 - k / 10} for k in range(n % 3)]
    return {"_id": POSTS[n], "author_id": USERS[author], "author_username": f"User{author}", "caption": f"post {n}",
            "status": "hidden" if n % 7 == 0 else "held" if n % 11 == 0 else "shown",
            "created_at": START + timedelta(minutes=n // 3, milliseconds=n % 2 * 250),  # posts 3k and 3k+2 tie
            "hot": n % 13 / 2 if n % 2 else n % 13,  # integers and doubles, many ties
            "hashtags": hashtags, "tags": tags, "tag_names": [tag["name"] for tag in tags], "like_count": n % 9}


def initial_data() -> dict[str, list[dict]]:
    """Fresh documents, _ids given so that both servers hold the same: the shapes tests/test_platform.py uses."""
    return {
        "users": [{"_id": USERS[n], "username": f"User{n}", "username_lower": f"user{n}",
                   "email_lower": f"user{n}@example.com", "following": USERS[n + 1:n + 4]} for n in range(30)],
        "posts": [post(n) for n in range(len(POSTS))],
        "likes": [{"_id": like_key(POSTS[n * 7 % 180], USERS[n // 6]), "post_id": POSTS[n * 7 % 180],
                   "user_id": USERS[n // 6], "created_at": START + timedelta(seconds=n)} for n in range(150)],
        "things": [{"_id": "a", "n": 1, "s": "x", "v": 1}, {"_id": Decimal128("2"), "n": 2, "s": "y", "v": Decimal128("2")},
                   {"_id": 3, "n": 3, "s": "z", "v": 3, "a": {"b": 1}}, {"_id": 4.5, "n": 4, "s": "x", "v": 4.5},
                   {"_id": FIRST, "n": 5, "s": "w", "v": Decimal128("-1.25"), "a": {"b": 5.0}}],
        "values": [{"_id": object_id(4, n), "n": n, "values": values}
                   for n, values in enumerate([[1, "a"], [2.0], "a", ["b", None], [], ["sun", "a"]])],
        "names": [{"_id": object_id(5, n), "n": n, **name}
                  for n, name in enumerate([{"name": "ada"}, {"name": "bo"}, {"name": 3}, {},
                                            {"name": {"first": "ada"}}, {"name": "Ada"}])],
        "holders": [{"_id": object_id(6, n), "n": n, **holder}
                    for n, holder in enumerate([{"who": FIRST}, {"who": SECOND}, {"who": str(FIRST)}, {}])],
        "rate_limits": [{"_id": "login:expired", "count": 3, "expires_at": START},
                        {"_id": "login:live", "count": 1, "expires_at": datetime(2099, 1, 1)}],
    }


def load(db) -> None:
    for collection, indexes in INDEXES.items():
        db[collection].create_indexes(indexes)
    db["values"].create_index("values")
    db["names"].create_index("name", unique=True)
    for collection, documents in initial_data().items():
        db[collection].insert_many(documents)


class QueryShape(NamedTuple):
    name: str
    collection: str
    filter: dict
    projection: dict | None = None
    sort: list | None = None
    limit: int = 0
    skip: int = 0


PAGE_END = post(100)  # where a page of a feed ended: the next one starts after it
TIED_PAGE_END = post(99)  # a page that ended inside a tie: post 101 has the same created_at


def next_page(query: dict, end: dict, field: str = "created_at") -> dict:
    """The query of the page after `end`, as app/core/pagination.py keyset_page writes it."""
    return {"$and": [query, {"$or": [{field: {"$lt": end[field]}}, {field: end[field], "_id": {"$lt": end["_id"]}}]}]}


QUERY_SHAPES = [
    QueryShape("hashtag", "posts", {"hashtags": "sun"}),
    QueryShape("hashtags $in", "posts", {"hashtags": {"$in": ["sea", "snow", "none"]}}),
    QueryShape("hashtag nobody used", "posts", {"hashtags": "nothing"}),
    QueryShape("tag name, newest first", "posts", {"tag_names": "dog", "status": "shown"}, sort=NEWEST, limit=10),
    QueryShape("shown, newest first", "posts", {"status": "shown"}, sort=NEWEST, limit=12),
    QueryShape("everything, oldest first", "posts", {}, sort=OLDEST, limit=12),
    QueryShape("everything, hottest first", "posts", {}, sort=HOTTEST, limit=15),
    QueryShape("explore's next page", "posts", {"status": "shown", "$or": [
        {"hot": {"$lt": PAGE_END["hot"]}}, {"hot": PAGE_END["hot"], "_id": {"$lt": PAGE_END["_id"]}}]},
        sort=HOTTEST, limit=10),
    QueryShape("home feed: a few authors", "posts", {"author_id": {"$in": USERS[2:6]}, "status": "shown"},
               sort=NEWEST, limit=10),
    QueryShape("home feed's next page", "posts", {"$and": [
        {"author_id": {"$in": USERS[:3]}, "status": "shown"},
        {"$or": [{"created_at": {"$lt": PAGE_END["created_at"]}},
                 {"created_at": PAGE_END["created_at"], "_id": {"$lt": PAGE_END["_id"]}}]}]}, sort=NEWEST, limit=10),
    QueryShape("home feed: many authors", "posts", {"status": "shown", "author_id": {"$in": USERS[:21]}},
               sort=NEWEST, limit=21),
    QueryShape("home feed: authors but some", "posts", {"status": "shown", "author_id": {
        "$in": USERS[:21], "$nin": [USERS[1], USERS[5]]}}, sort=NEWEST, limit=21),
    QueryShape("home feed's next page, from a tie", "posts", next_page(
        {"status": "shown", "author_id": {"$in": USERS[:21]}}, TIED_PAGE_END), sort=NEWEST, limit=21),
    QueryShape("home feed's next page, an author's", "posts", next_page(
        {"status": "shown", "author_id": USERS[1]}, TIED_PAGE_END), {"caption": 1}, sort=NEWEST, limit=5),
    QueryShape("home feed skipped into", "posts", {"author_id": {"$in": USERS[:8]}}, sort=NEWEST, limit=7, skip=9),
    QueryShape("home feed skipped to its end", "posts", {"author_id": {"$in": USERS[4:8]}}, sort=NEWEST, skip=3),
    QueryShape("a few authors, oldest first", "posts", {"author_id": {"$in": USERS[:3]}}, {"created_at": 1},
               sort=OLDEST, limit=9),
    QueryShape("a few authors, hottest first", "posts", {"author_id": {"$in": USERS[:3]}, "status": "shown"},
               sort=HOTTEST, limit=9, skip=2),
    QueryShape("profile", "posts", {"author_id": USERS[9]}, {"caption": 1, "created_at": 1}, sort=NEWEST, limit=20),
    QueryShape("profile of nobody", "posts", {"author_id": MISSING}, sort=NEWEST, limit=20),
    QueryShape("keyword search", "posts", {"status": "shown", "$or": [
        {"hashtags": {"$in": ["sea", "city"]}}, {"tag_names": "tree"}, {"author_id": USERS[12]}]}, sort=NEWEST, limit=10),
    QueryShape("keyword search matching nothing", "posts", {"status": "shown", "$or": [
        {"hashtags": "nothing"}, {"tag_names": "nothing"}, {"author_id": MISSING}]}, sort=NEWEST, limit=10),
    QueryShape("posts by _id $in, one missing", "posts", {"_id": {"$in": [POSTS[3], POSTS[150], MISSING]}}),
    QueryShape("post _id missing", "posts", {"_id": MISSING}),
    QueryShape("post by _id, as find_one asks", "posts", {"_id": POSTS[3]}, limit=1),
    QueryShape("post by _id, some fields", "posts", {"_id": POSTS[4]}, {"caption": 1, "like_count": True}, limit=1),
    QueryShape("post by _id, without some fields", "posts", {"_id": POSTS[5]}, {"tags": 0, "hashtags": False}),
    QueryShape("post by _id, without its _id", "posts", {"_id": POSTS[6]}, {"_id": 0, "caption": 1}),
    QueryShape("post by _id, a dotted field", "posts", {"_id": POSTS[8]}, {"tags.name": 1}),
    QueryShape("post by _id, its first tag", "posts", {"_id": POSTS[8]}, {"tags": {"$slice": 1}}),
    QueryShape("user by _id", "users", {"_id": USERS[3]}, limit=1),
    QueryShape("like by _id", "likes", {"_id": like_key(POSTS[0], USERS[0])}, {"post_id": 1}, limit=1),
    QueryShape("rate limit by _id, expired", "rate_limits", {"_id": "login:expired"}, limit=1),
    QueryShape("rate limit by _id, live", "rate_limits", {"_id": "login:live"}, limit=1),
    QueryShape("a collection nobody wrote, by _id", "nothing_here", {"_id": MISSING}, limit=1),
    QueryShape("post _id spelt as a string", "posts", {"_id": str(POSTS[3])}),
    QueryShape("post _id $in inside $and", "posts", {"$and": [{"_id": {"$in": POSTS[:20]}}, {"like_count": {"$gte": 4}}]}),
    QueryShape("posts of some ids, a string among them", "posts", {"_id": {"$in": [POSTS[5], "text-post"]}}),
    QueryShape("post card fields", "posts", {"author_id": USERS[2]}, {"author_username": 1, "hashtags": 1, "created_at": 1}),
    QueryShape("post without its tags", "posts", {"status": "hidden"}, {"tags": 0, "caption": 0}),
    QueryShape("tag names through a dotted path", "posts", {"hashtags": "cat"}, {"tags.name": 1, "_id": 0}),
    QueryShape("the first tag", "posts", {"tag_names": "car"}, {"tags": {"$slice": 1}, "caption": 1}),
    QueryShape("the matched hashtag", "posts", {"hashtags": "city"}, {"hashtags.$": 1}),
    QueryShape("likes by their _id, one missing", "likes",
               {"_id": {"$in": [like_key(POSTS[0], USERS[0]), like_key(POSTS[7], USERS[29]), "missing:key"]}},
               {"post_id": 1}),
    QueryShape("likes of a user", "likes", {"user_id": USERS[3]}, {"post_id": 1, "created_at": 1}),
    QueryShape("likes of a user, newest first", "likes", {"user_id": USERS[4]}, sort=[("created_at", -1), ("_id", -1)]),
    QueryShape("likes of a post", "likes", {"post_id": POSTS[14]}),
    QueryShape("user by name", "users", {"username_lower": "user3"}, {"username": 1}),
    QueryShape("users by name $in", "users", {"username_lower": {"$in": ["user1", "USER2", "nobody", "user29"]}}),
    QueryShape("users a user follows", "users", {"_id": {"$in": USERS[5:9]}}, {"username": 1, "following": 1}),
    QueryShape("followers of a user", "users", {"following": USERS[6]}, {"username": 1}),
    QueryShape("string _ids $in", "things", {"_id": {"$in": ["a", "b"]}}),
    QueryShape("a number _id equals a decimal", "things", {"_id": 2}),
    QueryShape("a number equals a decimal", "things", {"v": 2}),
    QueryShape("decimals compared", "things", {"v": {"$gte": 2}}),
    QueryShape("a price between numbers", "things", {"v": 1.5}),
    QueryShape("$or of a string and a number", "things", {"$or": [{"s": "z"}, {"v": {"$lt": 3}}]}),
    QueryShape("a string and a number", "things", {"s": "y", "v": {"$lte": 2}}),
    QueryShape("_ids of a string and a number", "things", {"_id": {"$in": ["a", 2]}}),
    QueryShape("a number _id as a double", "things", {"_id": {"$in": [3.0, 4.5]}}),
    QueryShape("even numbers", "things", {"n": {"$mod": [2, 0]}}),
    QueryShape("a dotted path", "things", {"a.b": 5}),
    QueryShape("array element 1", "values", {"values": 1}),
    QueryShape("array element 2", "values", {"values": 2}),
    QueryShape("array element or scalar 'a'", "values", {"values": "a"}),
    QueryShape("array element $in", "values", {"values": {"$in": ["b", 2]}}),
    QueryShape("array strings $in", "values", {"values": {"$in": ["a", "b", "z"]}}),
    QueryShape("array element null", "values", {"values": None}),
    QueryShape("indexed name", "names", {"name": "ada"}),
    QueryShape("indexed names $in", "names", {"name": {"$in": ["bo", "ada", "cy", "eve"]}}),
    QueryShape("indexed names of other cases and types", "names", {"name": {"$in": ["3", "Ada"]}}),
    QueryShape("ObjectIds $in", "holders", {"who": {"$in": [FIRST, THIRD]}}),
]

WRITES = [
    ("pick the newest shown post", lambda db: db.posts.find_one_and_update(
        {"status": "shown"}, {"$set": {"picked": True}}, sort=NEWEST, return_document=pymongo.ReturnDocument.AFTER)),
    ("pick the hottest post of two authors", lambda db: db.posts.find_one_and_update(
        {"author_id": {"$in": USERS[:2]}}, {"$inc": {"like_count": 1}}, sort=HOTTEST)),
    ("pick the oldest post with a hashtag", lambda db: db.posts.find_one_and_update(
        {"hashtags": "sea"}, {"$set": {"status": "held"}}, sort=OLDEST)),
    ("a post's hashtags become one string", lambda db: db.posts.update_one(
        {"_id": POSTS[5]}, {"$set": {"hashtags": "sun"}}).modified_count),
    ("a post with a string _id", lambda db: db.posts.insert_one(
        {"_id": "text-post", "author_id": USERS[0], "status": "shown", "created_at": START + timedelta(minutes=30),
         "hot": 3, "hashtags": ["sea"], "tag_names": [], "like_count": 0}).inserted_id),
    ("a post with no date and a date for hot", lambda db: db.posts.insert_one(
        {"_id": object_id(2, 999), "author_id": USERS[1], "status": "shown", "hot": START, "hashtags": ["snow"],
         "tag_names": ["tree"]}).inserted_id),
    ("a post deleted", lambda db: db.posts.delete_one({"_id": POSTS[7]}).deleted_count),
    ("a like", lambda db: db.likes.insert_one(
        {"_id": like_key(POSTS[7], USERS[29]), "post_id": POSTS[7], "user_id": USERS[29], "created_at": START}).inserted_id),
    ("the same like again", lambda db: db.likes.insert_one({"_id": like_key(POSTS[7], USERS[29])}).inserted_id),
    ("a user taking a name in use", lambda db: db.users.insert_one(
        {"_id": object_id(1, 99), "username_lower": "user3", "email_lower": "new@example.com"}).inserted_id),
    ("a number _id stored as a double", lambda db: db.things.insert_one({"_id": 3.0}).inserted_id),
    ("a number _id stored as a decimal", lambda db: db.things.insert_one({"_id": Decimal128("4.5")}).inserted_id),
    ("a decimal price", lambda db: db.things.update_one({"_id": "a"}, {"$set": {"v": Decimal128("1.5")}}).modified_count),
    ("a double number", lambda db: db.things.insert_one({"_id": "double", "n": 4.0, "s": "x"}).inserted_id),
    ("an array on a dotted path", lambda db: db.things.update_one({"_id": 3}, {"$set": {"a": [{"b": 5}]}}).modified_count),
    ("an array replaces a scalar", lambda db: db["values"].update_one({"n": 2}, {"$set": {"values": ["z"]}}).modified_count),
    ("a scalar replaces an array", lambda db: db["values"].update_one({"n": 4}, {"$set": {"values": "b"}}).modified_count),
    ("a name changes", lambda db: db.names.update_one({"n": 1}, {"$set": {"name": "cy"}}).modified_count),
    ("an array at an indexed name", lambda db: db.names.insert_one(
        {"_id": object_id(5, 99), "n": 6, "name": ["dee", "eve"]}).inserted_id),
    ("an array of ObjectIds", lambda db: db.holders.insert_one(
        {"_id": object_id(6, 99), "n": 4, "who": [THIRD, SECOND]}).inserted_id),
]


def outcome(action):
    """What an action answered, exactly (repr keeps types and key order), or the error it raised."""
    try:
        return repr(action())
    except pymongo.errors.PyMongoError as error:
        return f"raised {type(error).__name__} {getattr(error, 'code', '')}"


def answer(db, shape: QueryShape) -> tuple:
    """The documents (in their order where a sort was given) and the count of a query shape."""
    def documents():
        found = [repr(document) for document in db[shape.collection].find(
            shape.filter, shape.projection, sort=shape.sort, skip=shape.skip, limit=shape.limit)]
        return found if shape.sort else sorted(found)

    return outcome(documents), outcome(lambda: db[shape.collection].count_documents(shape.filter))


def sql_of(db, shape: QueryShape) -> str:
    """The SQL statement the server answers a query shape with, as its explain() reports it."""
    explained = db[shape.collection].find(shape.filter, shape.projection, sort=shape.sort, skip=shape.skip,
                                          limit=shape.limit).explain()
    return explained["details"]["pushdown"]["sqlFragment"]


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> dict:
    """Each query shape's answers before and after the writes, and each write's, from mongoeco's
    own engine and from ours: {"before writes": {name: (stock, ours)}, ..., "writes": {...}}. The
    reads before the writes also teach each engine the facts it keeps across writes."""
    data_dirs = {True: tmp_path_factory.mktemp("stock-engine"), False: tmp_path_factory.mktemp("our-engine")}
    databases = []
    try:
        for stock, data_dir in data_dirs.items():
            uri = embedded_mongo.ensure_server(data_dir, stock_engine=stock)
            databases.append(pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000).glimpse)
        for db in databases:
            load(db)

        def on_both(ask):
            return tuple(ask(db) for db in databases)

        found = {"before writes": {shape.name: on_both(functools.partial(answer, shape=shape)) for shape in QUERY_SHAPES}}
        found["our sql"] = {shape.name: sql_of(databases[1], shape) for shape in QUERY_SHAPES}
        found["writes"] = {name: on_both(lambda db, write=write: outcome(lambda: write(db))) for name, write in WRITES}
        found["after writes"] = {shape.name: on_both(functools.partial(answer, shape=shape)) for shape in QUERY_SHAPES}
        yield found
    finally:
        for db in databases:
            db.client.close()
        for data_dir in data_dirs.values():
            embedded_mongo.stop_server(data_dir)


@pytest.mark.parametrize("phase", ["before writes", "after writes"])
@pytest.mark.parametrize("shape", QUERY_SHAPES, ids=[shape.name for shape in QUERY_SHAPES])
def test_each_query_shape_answers_as_on_mongoecos_own_engine(answers, phase, shape):
    stock, ours = answers[phase][shape.name]
    assert not stock[0].startswith("raised"), "mongoeco refuses this query: it tests nothing"
    assert ours == stock


@pytest.mark.parametrize("write", [name for name, _ in WRITES])
def test_each_write_answers_as_on_mongoecos_own_engine(answers, write):
    stock, ours = answers["writes"][write]
    assert ours == stock


@pytest.mark.parametrize(("shape", "sort_keys_from"), [
    ("home feed: many authors", "documents"), ("home feed: authors but some", "documents"),
    ("home feed's next page, from a tie", "documents"), ("a few authors, hottest first", "index entries")])
def test_few_matches_are_sorted_on_their_keys_and_only_a_pages_documents_read_after(answers, shape, sort_keys_from):
    # Item 15: the page's storage keys are found and sorted first (the subquery `page`), then its
    # documents read; a date's sort key is read from the document, a number's from its index entry;
    # a keyset page's `$and` counts its nested conditions for item 13.
    sql = answers["our sql"][shape]
    assert ") AS page CROSS JOIN documents" in sql
    assert "ORDER BY page.sort_key DESC, page.storage_key DESC" in sql
    assert ("scalar_index_entries" in sql) == (sort_keys_from == "index entries")


def test_a_find_by_id_is_read_straight_from_the_engine_and_other_finds_are_not(tmp_path, monkeypatch):
    """Item 16 is in use: the answers above compare it with mongoeco's, so it must be what answered."""
    through_mongoeco = []
    stock_execute = WireCommandExecutor.execute_prepared

    async def counted(self, context):
        through_mongoeco.append(context.command_name)
        return await stock_execute(self, context)

    monkeypatch.setattr(WireCommandExecutor, "execute_prepared", counted)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    server = embedded_engine.GlimpseWireServer(engine=embedded_engine.GlimpseSQLiteEngine(str(tmp_path / "db.sqlite3")))
    address = asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{address.port}/?directConnection=true", serverSelectionTimeoutMS=5000)
    try:
        db = client.glimpse
        db.users.insert_one({"_id": USERS[0], "username": "ada", "bio": "hi"})
        through_mongoeco.clear()
        assert db.users.find_one({"_id": USERS[0]}, {"username": 1}) == {"_id": USERS[0], "username": "ada"}
        assert db.users.find_one({"_id": MISSING}) is None
        assert "find" not in through_mongoeco
        assert db.users.find_one({"_id": USERS[0], "username": "ada"})["bio"] == "hi"
        assert db.users.find_one({"_id": USERS[0]}, sort=[("username", 1)])["bio"] == "hi"
        assert through_mongoeco.count("find") == 2
    finally:
        client.close()
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
