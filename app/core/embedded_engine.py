"""mongoeco's SQLite engine with the costs we measured at 10k posts / 100k likes taken out.

Only the embedded server process imports this module (it needs mongoeco). Each override keeps
mongoeco's answers and changes how it finds them; tests/test_platform.py checks the answers. Each
is marked @override: tests/test_embedded_engine_guard.py checks that it still overrides a method
mongoeco calls, and that the app's query shapes answer as on mongoeco's own engine.

1. Inserts: mongoeco re-reads the whole collection on each insert to catch numeric _ids that are
   equal but stored differently (1 and 1.0). For ObjectIds and strings the storage-key lookup it
   does first is already exact, so the scan only runs for numeric ids.
2. Array fields: its multikey lookup leaves type_score, the index's third column, out, so SQLite
   reads every entry of the index once per document (a hashtag query took 19 s). For strings
   (hashtags, tag names) it also parsed every document to test scalar values; the index holds
   those too, so the matching documents are read off the index instead (100 ms -> 5 ms).
3. `_id` conditions other than a lone equality that hits (a miss, `$in`, `_id` inside `$and`)
   became a JSON comparison over the whole collection; for ObjectIds and strings they are
   primary-key lookups. ObjectIds (equality or `$in`) at another field that holds no arrays are one
   `IN` instead of an equality and an array test per value (the home feed's authors).
4. Start-up: every start rebuilt every scalar index entry from every document (45 s), though
   each write keeps them current; we rebuild once per mongoeco version.
5. Each write deletes the document's multikey entries by storage key, which no index covered
   (5 ms per post write at 10k posts, 30k entries); we add that index.
6. Each write forgets what the engine learnt about the collection, and the next read re-learns
   it by scanning (0.5 s per fact on 100k likes): whether any document holds an array, a
   decimal, a double or a value of another type at a field. A write can only make such a
   "no document has..." fact true through the documents it wrote, so we look at those alone
   (a trigger records them). Facts of the form "every document has type T at F" are kept the
   same way; the other kinds go as before.
7. Sorts: a sort on a field with a single-field index, plus `_id` as tie-break, walked the whole
   collection twice to rule out arrays and odd types at the sort keys, then sorted every match.
   When every document holds a number or a date at the field (and an ObjectId as `_id`), the
   engine reads the index in order and stops at the limit; the filter is checked on the way.
   Whether every document holds a number or a date there is our own fact, kept across writes;
   mongoeco's counted the whole collection and forgot a "no" at every write (a date field is
   not all numbers), so each home feed after a like recounted 10k posts.
8. Decoding: mongoeco turns every value of a stored document into Python objects before it
   projects, and asked inspect.signature() about its codec once per document. Fields an
   inclusion projection cannot read are dropped before decoding (a user read for its name no
   longer decodes its follow list), and the codec's signature is read once.
9. Writes: all collections share one documents table, and mongoeco's index on a field of one
   collection covered every row of it, so each insert computed every collection's index
   expressions (a 255 KB GridFS chunk: 20 ms in SQLite). The indexes are made partial to their
   collection when created and, for older data, at start (2 ms). SQLite refuses INDEXED BY on
   such an index when the condition rests on bound parameters, so a `hint()` no longer forces
   its index (the answer is the same). The tables of index entries keep mongoeco's twenty-odd
   identical B-trees, each entry written into all of them (0.6 ms an entry; 0.04 ms scoped):
   mongoeco reads them only through INDEXED BY.
10. Reads of more than one document: each opened a new SQLite connection for its snapshot, and
   its first statement parsed the whole schema and re-read the index catalog (1.5-2.5 ms of a
   3-6 ms read; a home feed makes four such reads). A closed reader's connection is rolled
   back and kept for the next one instead; each read still begins its own transaction.
11. Before each query mongoeco asks, per field the query names and per decimal tag (three), whether
   any document holds a decimal there, scanning the collection (2 s for likes' `_id` at 100k,
   three times over, by every thread that asks before the first answers: the first minute after
   a restart stalled for seconds). Decimals only change how numbers compare; a field the query
   only tests for equality with strings or ObjectIds needs no such scan.
12. Writes: mongoeco recorded every write in a change outbox for change streams, then handed it on
   under a lease (two more commits, a heartbeat thread, counts over the 10k-entry outbox): half of
   a post update's time. Glimpse opens no change streams, so nothing is handed on, and with no
   reader registered each write empties the outbox again (a post update: 15.8 -> 7.7 ms).
13. Sorts over few matches: item 7's walk of the sort index checks each document it passes, so a
   home feed (21 authors of 1000) passed ~1000 posts for its page, and a profile of a user with a
   dozen posts passed all of them (60 ms at 12k posts). When the filter asks for ObjectIds at a
   field an index leads with, and that index counts fewer than SORT_MATCHES_BELOW documents holding
   them, those are found through it (the ObjectId clause is written in the index's own words, so
   SQLite can seek it) and sorted by the same index entries the walk reads: home feed query 10-20
   -> 5.5-6 ms, profile 60 -> 3 ms, same answers.
14. `$or` of conditions item 2 or 13 reads off an index (keyword search: hashtags, tag names or
   authors, newest first) became an OR of per-branch tests on every document item 7's walk passed,
   all 10k posts when nothing matched. It is one `IN` over the branches' index reads, and counts
   for item 13 like a single condition: a search with no keyword match 12.5 -> 3.4 ms.
15. Item 13's sort carried every match's whole document through SQLite's sorter and joined each
   match to its index entry for the sort key: 200 posts sorted for a home feed page of 21. Only
   storage keys and sort keys are sorted now, and the page's documents read after; a date's key,
   which is the date's stored text, is read off the document instead of the join (SQLite time of
   the feed query 1.5 -> 0.6 ms). A keyset page's `$and` holds the first page's conditions as one
   clause, which item 13 did not look into: the next page walked the sort index from the top
   past every newer post (next page of a home feed 14 -> 4 ms of server CPU).
16. Finds by `_id` (every signed-in page's session check, a post, a like) went through mongoeco's
   command, cursor and scan-reader layers: 2.1 ms of the server's CPU for a primary-key read.
   IdFindExecutor reads them straight from the engine (1.0 ms for a user, 0.5 for a post); it is
   mongoeco's wire server's executor, so the server class (GlimpseWireServer) is ours too.
"""
import dataclasses
import inspect
import sqlite3
import threading
from functools import cached_property
from importlib.metadata import version
from typing import cast, override

from bson import ObjectId
from mongoeco.core import query_plan
from mongoeco.core.json_compat import json_dumps_compact, json_loads
from mongoeco.engines import sqlite as mongoeco_sqlite
from mongoeco.engines import sqlite_query as mongoeco_sqlite_query
from mongoeco.engines._sqlite_connection import SQLiteConnection
from mongoeco.types import ObjectId as MongoecoObjectId
from mongoeco.wire.executor import WireCommandExecutor
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

MONGOECO_VERSION = version("mongoeco")
WRITTEN_TABLE = "glimpse_written_documents"
COMPARABLE_JSON_TYPES = {"number": ("integer", "real"), "string": ("text",), "bool": ("true", "false")}
SCOPE_MARKER = "WHERE db_name"  # how a document index scoped to its collection ends
EVERY_DOCUMENT_HOLDS = "glimpse_every_document_holds"  # our fact: every document holds this type at the field
TAG_TYPE, TAG_VALUE = mongoeco_sqlite.DocumentCodec._TYPE, mongoeco_sqlite.DocumentCodec._VALUE
DECIMAL_TAGS = ("decimal", "decimal128", "decimal128_public")  # how mongoeco tags the decimal types
# Item 13: below this many matches, finding and sorting them all (~11 us each) beats walking the sort
# index past the others (~14 us a step, limit x documents / matches steps: at 10k posts they break even
# near 500). The sort's cost is bounded by this; the walk's grows with the collection.
SORT_MATCHES_BELOW = 500
IDLE_CONNECTIONS_KEPT = 8  # about the server's reader threads; each holds its own page cache


class IdleConnections:
    """Closed SQLite connections kept open for reuse: a connection handed back is rolled back
    first, so whoever takes it next starts outside any transaction."""

    def __init__(self, kept: int):
        self._kept = kept
        self._idle: list[ReusableConnection] = []
        self._lock = threading.Lock()

    def take(self) -> "ReusableConnection | None":
        with self._lock:
            return self._idle.pop() if self._idle else None

    def keep(self, connection: "ReusableConnection") -> bool:
        """False when the connection should really close: the pool is full, or it will not roll back."""
        try:
            if connection.in_transaction:
                connection.rollback()
        except sqlite3.Error:
            return False
        with self._lock:
            if len(self._idle) >= self._kept:
                return False
            self._idle.append(connection)
            return True

    def close_all(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close_for_good()


class ReusableConnection(SQLiteConnection):
    """mongoeco's connection, whose close() offers it to the engine's idle connections."""

    idle_connections: IdleConnections | None = None

    @override
    def close(self) -> None:
        if self.idle_connections is None or not self.idle_connections.keep(self):
            self.close_for_good()

    def close_for_good(self) -> None:
        super().close()


class GlimpseSQLiteEngine(mongoeco_sqlite.SQLiteEngine):
    # Item 12: no change streams, so no outbox to deliver from.
    capabilities = dataclasses.replace(mongoeco_sqlite.SQLiteEngine.capabilities, change_delivery="none")

    @override
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._idle_connections = IdleConnections(IDLE_CONNECTIONS_KEPT)

    @override
    def _create_sqlite_connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = self._idle_connections.take()
        if connection is None:
            connection = super()._create_sqlite_connection()
            if self._path != ":memory:":  # there each connection is a database of its own
                # mongoeco's connection with mongoeco's settings; only what close() does changes.
                connection.__class__ = ReusableConnection
                connection.idle_connections = self._idle_connections  # type: ignore[attr-defined]  # its class just changed
        return connection

    @override
    def _disconnect_sync(self) -> None:
        super()._disconnect_sync()
        if self._connection_count == 0:
            self._idle_connections.close_all()

    @override
    def _validate_document_against_unique_indexes(self, db_name, coll_name, document, *, scan_payload_id=False,
                                                  **options):
        if scan_payload_id and not mongoeco_sqlite.id_contains_numeric_value(document.get("_id")):
            scan_payload_id = False
        return super()._validate_document_against_unique_indexes(
            db_name, coll_name, document, scan_payload_id=scan_payload_id, **options)

    @override
    def _translate_multikey_exists_clause(self, collection_id, db_name, coll_name, index, signatures):
        # type_score is a function of element_type: adding it changes no answer.
        physical_name = self._quote_identifier(str(index["multikey_physical_name"]))
        clauses, params = [], []
        for element_type, element_key in signatures:
            clauses.append(
                f"EXISTS (SELECT 1 FROM multikey_entries INDEXED BY {physical_name} "  # nosec B608  # quoted identifier
                "WHERE collection_id = ? AND index_name = ? AND type_score = ? AND element_key = ? "
                "AND storage_key = documents.storage_key AND element_type = ?)"
            )
            params += [collection_id, index["name"], self._multikey_type_score(element_type), element_key, element_type]
        return "(" + " OR ".join(clauses) + ")", params

    @staticmethod
    def _has_every_entry(index) -> bool:
        """Whether the index holds an entry for every document's value: arrays' elements in its
        multikey part, other values in its scalar part."""
        return bool(index.get("scalar_physical_name") and index.get("multikey_physical_name")) \
            and not index.get("sparse") and not index.get("partial_filter_expression")

    def _indexed_strings_select(self, collection_id, index, values: list[str]):
        """The storage keys of documents whose field is, or is an array holding, one of `values`:
        the stock clause tests the value in each document's JSON and probes the index per
        document; this reads the index once for the matching keys."""
        placeholders = ", ".join("?" * len(values))
        selects = [f"SELECT storage_key FROM {table} INDEXED BY {self._quote_identifier(str(index[physical]))} "  # nosec B608  # quoted identifiers
                   "WHERE collection_id = ? AND index_name = ? AND type_score = ? "
                   f"AND element_key IN ({placeholders}) AND element_type = 'string'"
                   for table, physical in (("multikey_entries", "multikey_physical_name"),
                                           ("scalar_index_entries", "scalar_physical_name"))
                   if table == "scalar_index_entries" or index.get("multikey")]  # array elements, once there are any
        params = [collection_id, index["name"], self._multikey_type_score("string"), *values]
        return " UNION ALL ".join(selects), params * len(selects)

    def _indexed_strings(self, db_name, coll_name, plan):
        """(index, strings) for a string equality or `$in` at a field whose index holds an entry
        for every value: a multikey index (arrays' elements and scalars), or the scalar index of a
        top-level field no document holds an array at."""
        values = _compared_values(plan)
        if not values or any(type(value) is not str for value in values):
            return None
        index = self._find_multikey_index(db_name, coll_name, plan.field)
        if index is not None:
            return (index, values) if self._has_every_entry(index) else None
        index = self._find_scalar_sort_index(db_name, coll_name, plan.field)  # single-field, not sparse or partial
        if index is None or not self._holds_no_arrays(db_name, coll_name, plan.field):
            return None
        return index, values

    def _storage_keys_select(self, db_name, coll_name, plan):
        """(sql, params) of a SELECT of the storage keys of the documents `plan` matches, read off
        indexes alone: string equality or `$in` (item 2), ObjectIds at a field an index leads with
        (item 13), and an `$or` of those (item 14). None for any other condition."""
        if isinstance(plan, query_plan.OrCondition):
            selects = [self._storage_keys_select(db_name, coll_name, clause) for clause in plan.clauses]
            if not selects or None in selects:
                return None
            return " UNION ALL ".join(sql for sql, _ in selects), [param for _, params in selects for param in params]
        collection_id = self._lookup_collection_id(self._require_connection(), db_name, coll_name)
        if collection_id is None:
            return None
        strings = self._indexed_strings(db_name, coll_name, plan)
        if strings is not None:
            return self._indexed_strings_select(collection_id, *strings)
        object_ids = self._scalar_object_ids(db_name, coll_name, plan)
        if object_ids and self._index_leads_with(db_name, coll_name, plan.field):
            return ("SELECT storage_key FROM documents WHERE db_name = ? AND coll_name = ? "  # nosec B608  # quoted literals
                    f"AND {_object_id_in_sql(plan.field, object_ids)}",
                    [db_name, coll_name, *(str(value) for value in object_ids)])
        return None

    def _index_leads_with(self, db_name, coll_name, field) -> bool:
        return any(index["fields"][0] == field and not index.get("sparse") and not index.get("partial_filter_expression")
                   for index in self._load_indexes(db_name, coll_name))

    @override
    def _translate_query_plan_with_multikey(self, db_name, coll_name, plan):
        keys = self._exact_id_keys(plan)
        if keys is not None:
            return f"documents.storage_key IN ({', '.join('?' * len(keys))})", keys
        object_ids = self._scalar_object_ids(db_name, coll_name, plan)
        if object_ids:
            # What the stock clause says once per value (type objectid and this value), said once,
            # in the words of the field's index so that SQLite can seek it (item 13).
            return _object_id_in_sql(plan.field, object_ids), [str(value) for value in object_ids]
        keys = self._storage_keys_select(db_name, coll_name, plan)
        if keys is not None:
            return f"documents.storage_key IN ({keys[0]})", keys[1]
        return super()._translate_query_plan_with_multikey(db_name, coll_name, plan)

    def _scalar_object_ids(self, db_name, coll_name, plan) -> list | None:
        """The ObjectIds of `field: ObjectId` or `field: {$in: [ObjectId...]}` on a field that
        holds no array in any document (the stock `$in` clause repeats an array test per value)."""
        values = _compared_values(plan)
        if (values and all(isinstance(value, ObjectId) for value in values)
                and self._holds_no_arrays(db_name, coll_name, plan.field)):
            return values
        return None

    def _holds_no_arrays(self, db_name, coll_name, field) -> bool:
        """A top-level field other than `_id` with no multikey index and no array in any document."""
        return ("." not in field and field != "_id" and self._find_multikey_index(db_name, coll_name, field) is None
                and not self._field_is_top_level_array_in_collection(db_name, coll_name, field))

    def _exact_id_keys(self, plan) -> list[str] | None:
        values = _compared_values(plan) if getattr(plan, "field", None) == "_id" else None
        if not values or not all(isinstance(value, ObjectId | str) for value in values):
            return None
        return [self._storage_key(value) for value in values]

    @override
    def _plan_requires_python_for_decimal_numeric(self, db_name, coll_name, plan) -> bool:
        if self._plan_contains_decimal_operand(plan):
            return True
        try:
            return any(self._field_contains_tagged_value_type_in_collection(db_name, coll_name, field, tag)
                       for field in self._fields_compared_with_numbers(plan) for tag in DECIMAL_TAGS)
        except RuntimeError:  # as mongoeco: a plan compiled on an unconnected engine
            return False

    def _fields_compared_with_numbers(self, plan) -> set[str]:
        """The fields of `plan` save those it only tests for equality with strings or ObjectIds,
        values no decimal can equal."""
        if isinstance(plan, query_plan.AndCondition | query_plan.OrCondition):
            return set().union(*(self._fields_compared_with_numbers(clause) for clause in plan.clauses))
        values = _compared_values(plan)
        if values and all(isinstance(value, str | ObjectId) for value in values):
            return set()
        return set(self._plan_fields(plan))

    @override
    def _sort_requires_python(self, db_name, coll_name, plan, sort) -> bool:
        if self._index_ordered_sort(db_name, coll_name, sort) is None:
            return super()._sort_requires_python(db_name, coll_name, plan, sort)
        # The sort keys hold one scalar type in every document, which is what the stock scans prove.
        return self._plan_has_array_traversing_paths(db_name, coll_name, plan)

    @override
    def _build_scalar_sort_select_sql(self, db_name, coll_name, plan, *, select_clause, sort, skip, limit, hint):
        ordered = None if hint is not None else self._index_ordered_sort(db_name, coll_name, sort)
        collection_id = ordered and self._lookup_collection_id(self._require_connection(), db_name, coll_name)
        if ordered is None or collection_id is None:
            return super()._build_scalar_sort_select_sql(db_name, coll_name, plan, select_clause=select_clause,
                                                         sort=sort, skip=skip, limit=limit, hint=hint)
        index, element_type, direction = ordered
        order = "ASC" if direction == 1 else "DESC"
        sort_entries = (index["name"], self._multikey_type_score(element_type))
        if self._few_enough_to_sort(db_name, coll_name, plan):
            return self._sorted_matches_select(db_name, coll_name, plan, select_clause=select_clause, field=index["fields"][0],
                                               element_type=element_type, order=order, skip=skip, limit=limit,
                                               sort_entries=(collection_id, *sort_entries))
        # Entries of one type_score sort by element_key as MongoDB sorts the values; the storage key
        # of an ObjectId _id sorts as the ObjectId does.
        return self._build_select_statement_with_custom_order(
            select_clause=self._resolve_select_clause_for_scalar_sort(select_clause),
            from_clause=(f"scalar_index_entries INDEXED BY {self._quote_identifier(str(index['scalar_physical_name']))} "
                         "JOIN documents ON documents.db_name = ? AND documents.coll_name = ? "
                         "AND documents.storage_key = scalar_index_entries.storage_key"),
            namespace_sql=("scalar_index_entries.collection_id = ? AND scalar_index_entries.index_name = ? "
                           "AND scalar_index_entries.type_score = ?"),
            namespace_params=(db_name, coll_name, collection_id, *sort_entries),
            where_fragment=self._translate_query_plan_with_multikey(db_name, coll_name, plan),
            order_sql=f" ORDER BY scalar_index_entries.element_key {order}, scalar_index_entries.storage_key {order}",
            skip=skip,
            limit=limit,
        )

    def _sorted_matches_select(self, db_name, coll_name, plan, *, select_clause, field, element_type, order, skip,
                               limit, sort_entries) -> tuple[str, list]:
        """Item 13: the few matches found through their own index and sorted by the keys the sort
        index holds for them; item 15: only their storage keys and sort keys are sorted, and the
        page's documents read afterwards (sorting 200 whole posts for a page of 21 cost more than
        finding them)."""
        if element_type == "datetime":
            # A date's index entry is the date's stored text (mongoeco's _multikey_value_signature),
            # which the document holds: reading it there spares a join per match.
            sort_key = "json_extract(documents.document, ?)"
            key_params: list = [_tagged_path(field, TAG_VALUE)]
            from_clause, from_params = "documents", []
            type_sql, type_params = "json_extract(documents.document, ?) = ?", [_tagged_path(field, TAG_TYPE), element_type]
        else:
            sort_key, key_params = "scalar_index_entries.element_key", []
            from_clause = ("documents CROSS JOIN scalar_index_entries INDEXED BY idx_scalar_index_entries_storage "
                           "ON scalar_index_entries.collection_id = ? "
                           "AND scalar_index_entries.storage_key = documents.storage_key")
            from_params = [sort_entries[0]]
            type_sql, type_params = "scalar_index_entries.index_name = ? AND scalar_index_entries.type_score = ?", \
                list(sort_entries[1:])
        where_sql, where_params = self._translate_query_plan_with_multikey(db_name, coll_name, plan)
        page = (f"SELECT documents.storage_key AS storage_key, {sort_key} AS sort_key FROM {from_clause} "  # nosec B608  # our own fragments
                f"WHERE documents.db_name = ? AND documents.coll_name = ? AND {type_sql} AND ({where_sql}) "
                f"ORDER BY sort_key {order}, storage_key {order} LIMIT ? OFFSET ?")
        sql = (f"SELECT {self._resolve_select_clause_for_scalar_sort(select_clause)} FROM ({page}) AS page "  # nosec B608  # as above
               "CROSS JOIN documents ON documents.db_name = ? AND documents.coll_name = ? "
               f"AND documents.storage_key = page.storage_key ORDER BY page.sort_key {order}, page.storage_key {order}")
        params = [*key_params, *from_params, db_name, coll_name, *type_params, *where_params,
                  -1 if limit is None else limit, skip or 0, db_name, coll_name]
        return sql, params

    def _few_enough_to_sort(self, db_name, coll_name, plan) -> bool:
        """Whether a condition the plan requires matches fewer than SORT_MATCHES_BELOW documents,
        counted in indexes alone (an `$or` counts a document once per branch it matches)."""
        for clause in _required_clauses(plan):
            keys = self._storage_keys_select(db_name, coll_name, clause)
            if keys is not None:
                (matches,) = self._require_connection().execute(
                    f"SELECT COUNT(*) FROM ({keys[0]} LIMIT ?)", [*keys[1], SORT_MATCHES_BELOW]).fetchone()  # nosec B608  # as built above
                if matches < SORT_MATCHES_BELOW:
                    return True
        return False

    @override
    def _build_select_sql(self, db_name, coll_name, plan, **options):
        # A hint would name its index with INDEXED BY, which SQLite refuses for our partial indexes
        # (it checks their condition before the namespace parameters are bound: "no query
        # solution"). Callers have already refused hints naming no index; unforced, the planner
        # picks the index itself, and the answer is the same either way.
        return super()._build_select_sql(db_name, coll_name, plan, **{**options, "hint": None})

    def _index_ordered_sort(self, db_name, coll_name, sort):
        """(index, element type, direction) when `sort` can be read off a single-field index: one
        field, optionally then `_id` the same way, every document holding a number or a date there."""
        if not sort or len(sort) > 2 or sort[0][0] == "_id" or sort[0][1] not in (1, -1):
            return None
        field, direction = sort[0]
        if len(sort) == 2 and (tuple(sort[1]) != ("_id", direction)
                               or not self._every_document_holds(db_name, coll_name, "_id", "objectid")):
            return None
        index = self._find_scalar_sort_index(db_name, coll_name, field)
        if index is None or self._field_traverses_array_in_collection(db_name, coll_name, field):
            return None
        # Not mongoeco's own "uniform sort type" fact: it counts the whole collection, and its
        # "no" (a date field is not all numbers) is forgotten at every write.
        element_type = next((kind for kind in ("number", "datetime")
                             if self._every_document_holds(db_name, coll_name, field, kind)), None)
        return None if element_type is None else (index, element_type, direction)

    def _every_document_holds(self, db_name, coll_name, field, value_type: str) -> bool:
        """Whether every document holds a `value_type` ("number", or a tagged type such as
        "datetime" or "objectid") at `field`; a "no" usually stops at the first document read, a
        "yes" outlives writes."""
        key = (db_name, coll_name, f"{EVERY_DOCUMENT_HOLDS}:{field}:{value_type}")
        if key not in self._collection_features_cache:
            sql, params = _lacks_type(field, value_type)
            row = self._require_connection().execute(
                f"SELECT 1 FROM documents WHERE db_name = ? AND coll_name = ? AND ({sql}) LIMIT 1",  # nosec B608  # our own condition
                (db_name, coll_name, *params),
            ).fetchone()
            self._collection_features_cache[key] = row is None
        return self._collection_features_cache[key] is True  # only this method writes these keys, as bools

    @cached_property
    def _codec_decode_takes_wrappers(self) -> bool:
        try:
            return "preserve_bson_wrappers" in inspect.signature(self._codec.decode).parameters
        except (TypeError, ValueError):
            return False

    @override
    def _decode_codec_payload(self, payload, *, preserve_bson_wrappers):
        # The stock method asks inspect.signature() about the codec for every document it decodes.
        if self._codec_decode_takes_wrappers:
            return self._codec.decode(payload, preserve_bson_wrappers=preserve_bson_wrappers)
        return self._codec.decode(payload)

    @override
    def _project_sql_scan_rows(self, rows, semantics, reader):
        # mongoeco turns every value of a document into Python objects, then projects; a user
        # read for its name decoded all the ObjectIds of its follow list. Drop the fields the
        # projection cannot read first (a JSON round trip in C), then let mongoeco project.
        fields = _fields_projected_from(semantics.projection)
        if fields is not None:
            rows = ((_only_fields(payload, fields),) for (payload,) in rows)
        return super()._project_sql_scan_rows(rows, semantics, reader)

    @override
    def _backfill_scalar_indexes_sync(self, conn) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS glimpse_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        done = conn.execute("SELECT value FROM glimpse_meta WHERE key = 'scalar_backfill'").fetchone()
        unnamed = conn.execute(
            "SELECT COUNT(*) FROM indexes WHERE scalar_physical_name IS NULL AND json_array_length(fields) = 1"
        ).fetchone()[0]
        if done is None or done[0] != MONGOECO_VERSION or unnamed:
            super()._backfill_scalar_indexes_sync(conn)
            conn.execute("INSERT OR REPLACE INTO glimpse_meta VALUES ('scalar_backfill', ?)", (MONGOECO_VERSION,))
        # The one hook mongoeco calls on connect, after its own schema is in place and before any write.
        self._record_written_documents(conn)
        # Each write first deletes the document's multikey entries by storage key; only scalar entries
        # have an index for that, so it read all of the collection's entries (5 ms per post at 10k).
        conn.execute("CREATE INDEX IF NOT EXISTS glimpse_multikey_entries_storage "
                     "ON multikey_entries (collection_id, storage_key, index_name)")
        _scope_document_indexes(conn)

    @override
    def _create_index_sync(self, db_name, coll_name, *arguments):
        name = super()._create_index_sync(db_name, coll_name, *arguments)
        with self._lock:
            _scope_document_indexes(self._require_connection(arguments[-1]))  # the last one is the session
        return name

    @staticmethod
    def _record_written_documents(conn) -> None:
        """Triggers that note each inserted or updated document until the next cache update."""
        conn.execute(f"CREATE TABLE IF NOT EXISTS {WRITTEN_TABLE} (db_name TEXT NOT NULL, coll_name TEXT NOT NULL, "
                     "storage_key TEXT NOT NULL, PRIMARY KEY (db_name, coll_name, storage_key)) WITHOUT ROWID")
        for event in ("INSERT", "UPDATE"):
            conn.execute(f"CREATE TRIGGER IF NOT EXISTS glimpse_note_{event.lower()} AFTER {event} ON documents "
                         f"BEGIN INSERT OR IGNORE INTO {WRITTEN_TABLE} VALUES "
                         "(NEW.db_name, NEW.coll_name, NEW.storage_key); END")
        conn.execute(f"DELETE FROM {WRITTEN_TABLE}")  # nosec B608  # constant; the engine's cache starts empty

    @override
    def _invalidate_collection_features_cache(self, db_name=None, coll_name=None) -> None:
        conn = getattr(self._thread_local, "connection", None)  # the writer's, inside its transaction
        # Removing expired documents calls this after its commit: a statement here would then open
        # a transaction nobody commits, hiding every later write from other connections.
        if db_name is None or coll_name is None or conn is None or not conn.in_transaction:
            super()._invalidate_collection_features_cache(db_name, coll_name)
            return
        kept = {}
        for key, value in self._collection_features_cache.items():
            if key[:2] == (db_name, coll_name) and (condition := written_fact_condition(key[2], value)):
                kept[key] = value, condition
        super()._invalidate_collection_features_cache(db_name, coll_name)
        for key, (value, (sql, params)) in kept.items():
            row = conn.execute(
                f"SELECT 1 FROM {WRITTEN_TABLE} AS written CROSS JOIN documents "  # nosec B608  # constants and our own conditions
                "ON documents.db_name = written.db_name AND documents.coll_name = written.coll_name "
                "AND documents.storage_key = written.storage_key "
                f"WHERE written.db_name = ? AND written.coll_name = ? AND ({sql}) LIMIT 1",
                (db_name, coll_name, *params),
            ).fetchone()
            if row is None:
                self._collection_features_cache[key] = value
        conn.execute(f"DELETE FROM {WRITTEN_TABLE} WHERE db_name = ? AND coll_name = ?",  # nosec B608  # constant
                     (db_name, coll_name))


def written_fact_condition(fact: str, value) -> tuple[str, list] | None:
    """The SQL condition under which one written document ends a cached fact: "no document
    has..." (value False) as the stock fact's own query states it (SQLiteEngine._field_..._in_collection),
    or "every document has..." (a true value); None for the facts we leave to mongoeco. (The
    caller's CROSS JOIN makes SQLite start from the few written documents instead of scanning
    the collection.)"""
    kind, _, rest = fact.partition(":")
    if value is False and kind in ABSENCE_FACTS:
        return ABSENCE_FACTS[kind](rest)
    if value and kind in UNIFORMITY_FACTS:
        return UNIFORMITY_FACTS[kind](rest, value)
    return None


def _scope_document_indexes(conn) -> None:
    """Make each collection's indexes on the shared documents table partial to that collection.

    mongoeco indexes every collection's fields over all rows of the table, so each insert computed
    every index's expressions, parsing its JSON dozens of times: a 255 KB GridFS chunk took 20 ms
    in SQLite, 2 ms with the indexes scoped. Every query of a collection names its namespace,
    which is what lets SQLite use a partial index."""
    unscoped = [row for row in conn.execute(
        "SELECT sqlite_master.name, sqlite_master.sql, indexes.db_name, indexes.coll_name FROM sqlite_master "
        "JOIN indexes ON indexes.physical_name = sqlite_master.name "
        "WHERE sqlite_master.type = 'index' AND sqlite_master.tbl_name = 'documents'")
        if SCOPE_MARKER not in row[1]]
    if not unscoped:
        return
    conn.execute("SAVEPOINT glimpse_scope_indexes")  # all or none, inside a transaction or not
    try:
        for name, sql, db_name, coll_name in unscoped:
            conn.execute(f'DROP INDEX "{name}"')
            conn.execute(f"{sql} {SCOPE_MARKER} = {_sql_literal(db_name)} AND coll_name = {_sql_literal(coll_name)}")
    except Exception:
        conn.execute("ROLLBACK TO glimpse_scope_indexes")
        raise
    finally:
        conn.execute("RELEASE glimpse_scope_indexes")


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _object_id_in_sql(field: str, object_ids: list) -> str:
    """`field` holds one of `object_ids`, written as mongoeco writes the field's index columns."""
    return (f"{mongoeco_sqlite_query.type_expression_sql(field)} = 'objectid' "
            f"AND {mongoeco_sqlite_query.value_expression_sql(field)} IN ({', '.join('?' * len(object_ids))})")


def _required_clauses(plan) -> list:
    """The conditions an `$and` requires, nested ones included (a keyset page's `$and` holds the
    first page's query as one clause)."""
    if isinstance(plan, query_plan.AndCondition):
        return [required for clause in plan.clauses for required in _required_clauses(clause)]
    return [plan]


def _compared_values(plan) -> list | None:
    """The values an equality or `$in` compares its field with; None for other conditions."""
    if isinstance(plan, query_plan.EqualsCondition):
        return [plan.value]
    if isinstance(plan, query_plan.InCondition):
        return list(plan.values)
    return None


def _fields_projected_from(projection) -> set[str] | None:
    """The top-level fields an inclusion projection of plain paths reads; None for any other."""
    if not projection:
        return None
    fields = {"_id"}
    for path, value in projection.items():
        if path != "_id":
            if value is not True and value != 1:  # an exclusion, or an operator such as $slice
                return None
            fields.add(path.split(".", 1)[0])
    return fields if len(fields) > 1 else None  # `{"_id": 0}` alone excludes, it does not include


def _only_fields(payload: str, fields: set[str]) -> str:
    return json_dumps_compact({key: value for key, value in json_loads(payload).items() if key in fields})


def _path(field: str) -> str:
    return mongoeco_sqlite.json_path_for_field(field)


def _tagged_path(field: str, part: str) -> str:
    """Where mongoeco keeps a tagged value's (ObjectId, date, decimal...) TAG_TYPE or TAG_VALUE."""
    return _path(field) + f'."{mongoeco_sqlite.DocumentCodec._MARKER}".{part}'


def _holds_tagged_type(rest: str):
    field, value_type = rest.rsplit(":", 1)
    return "json_extract(documents.document, ?) = ?", [_tagged_path(field, TAG_TYPE), value_type]


def _lacks_tagged_type(field: str, value_type: str):
    return "COALESCE(json_extract(documents.document, ?), '') != ?", [_tagged_path(field, TAG_TYPE), value_type]


def _holds_json_type(json_type: str):
    return lambda field: ("json_type(documents.document, ?) = ?", [_path(field), json_type])


def _traverses_array(field: str):
    prefixes = mongoeco_sqlite.path_array_prefixes(field)
    if not prefixes:
        return None
    return " OR ".join(["json_type(documents.document, ?) = 'array'"] * len(prefixes)), [_path(p) for p in prefixes]


def _json_type_outside(field: str, expected_type: str):
    allowed = COMPARABLE_JSON_TYPES[expected_type]
    return (f"json_type(documents.document, ?) NOT IN ({', '.join('?' * len(allowed))})", [_path(field), *allowed])


def _mismatches_type(rest: str):
    field, expected_type = rest.rsplit(":", 1)
    if expected_type not in COMPARABLE_JSON_TYPES:  # mongoeco caches these as true from the start
        return None
    sql, params = _json_type_outside(field, expected_type)
    return f"json_type(documents.document, ?) IS NOT NULL AND {sql}", [_path(field), *params]


def _lacks_json_type(field: str, expected_type: str):
    sql, params = _json_type_outside(field, expected_type)
    return f"(json_type(documents.document, ?) IS NULL OR {sql})", [_path(field), *params]


def _lacks_type(field: str, value_type: str):
    """A JSON type's ("number", "string", "bool") or else a tagged type's condition."""
    if value_type in COMPARABLE_JSON_TYPES:
        return _lacks_json_type(field, value_type)
    return _lacks_tagged_type(field, value_type)


ABSENCE_FACTS = {
    "tagged_type": _holds_tagged_type,
    "top_level_array": _holds_json_type("array"),
    "contains_real_numeric": _holds_json_type("real"),
    "traverses_array": _traverses_array,
    "comparison_mismatch": _mismatches_type,
}
UNIFORMITY_FACTS = {
    "uniform_scalar_sort_type": _lacks_json_type,
    EVERY_DOCUMENT_HOLDS: lambda rest, _value: _lacks_type(*rest.rsplit(":", 1)),
}


# Item 16: what pymongo sends for find_one({"_id": x}), with or without a plain projection.
ID_FIND_FIELDS = frozenset({"find", "filter", "projection", "limit", "singleBatch", "batchSize", "maxTimeMS", "comment",
                            "lsid", "$db", "$readPreference", "$clusterTime"})


def _id_find_target(context) -> tuple[str, MongoecoObjectId | str, dict | None] | None:
    """(collection, _id, projection) when the request is a find by one ObjectId or string `_id` and
    nothing else that changes its answer (a transaction, a read concern, a sort, a skip, a hint,
    a collation, projection operators); else None."""
    command = context.command_document
    if context.command_name != "find" or not ID_FIND_FIELDS.issuperset(context.raw_body):
        return None
    query, projection, collection = command.get("filter"), command.get("projection"), command.get("find")
    if not (isinstance(query, dict) and list(query) == ["_id"] and type(query["_id"]) in (MongoecoObjectId, str)):
        return None
    if projection is not None and not (isinstance(projection, dict) and all(
            type(value) in (bool, int) and value in (0, 1) for value in projection.values())):
        return None
    if command.get("batchSize") == 0 or not isinstance(collection, str) or collection.startswith("system."):
        return None
    if context.session is not None and context.session.in_transaction:
        return None
    return collection, query["_id"], projection or None


class IdFindExecutor(WireCommandExecutor):
    """Item 16: a find by `_id` is read straight from the engine, which still applies TTL expiry and
    the projection; the answer is the reply mongoeco gives, a cursor already exhausted."""

    @override
    async def execute_prepared(self, context):
        target = _id_find_target(context)
        if target is None:
            return await super().execute_prepared(context)
        collection, document_id, projection = target
        self._auth.require_authenticated(context.connection, "find")
        engine = cast(mongoeco_sqlite.SQLiteEngine, self._client._engine)  # GlimpseWireServer is given ours
        found = await engine.get_document(context.db_name, collection, document_id, projection=projection,
                                          dialect=self._client.mongodb_dialect)
        return {"cursor": {"id": 0, "ns": f"{context.db_name}.{collection}", "firstBatch": [] if found is None else [found]},
                "ok": 1.0}


class GlimpseWireServer(AsyncMongoEcoProxyServer):
    """mongoeco's wire server, answering finds by `_id` through IdFindExecutor."""

    @override
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._executor = IdFindExecutor(self._client, self._cursor_store, self._session_store, surface=self._surface,
                                        auth=self._auth)
