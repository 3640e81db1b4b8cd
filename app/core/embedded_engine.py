"""mongoeco's SQLite engine with the costs we measured at 10k posts / 100k likes taken out.

Only the embedded server process imports this module (it needs mongoeco). Each override keeps
mongoeco's answers and changes how it finds them; tests/test_platform.py checks the answers.

1. Inserts: mongoeco re-reads the whole collection on each insert to catch numeric _ids that are
   equal but stored differently (1 and 1.0). For ObjectIds and strings the storage-key lookup it
   does first is already exact, so the scan only runs for numeric ids.
2. Array fields: its multikey lookup leaves type_score, the index's third column, out, so SQLite
   reads every entry of the index once per document (a hashtag query took 19 s).
3. `_id` conditions other than a lone equality that hits (a miss, `$in`, `_id` inside `$and`)
   became a JSON comparison over the whole collection; for ObjectIds and strings they are
   primary-key lookups.
4. Start-up: every start rebuilt every scalar index entry from every document (45 s), though
   each write keeps them current; we rebuild once per mongoeco version.
5. Each write forgets what the engine learnt about the collection, and the next read re-learns
   it by scanning (0.5 s per fact on 100k likes): whether any document holds an array, a
   decimal, a double or a value of another type at a field. A write can only make such a
   "no document has..." fact true through the documents it wrote, so we look at those alone
   (a trigger records them); facts that were true, and the other kinds, go as before.
"""
from importlib.metadata import version

from bson import ObjectId
from mongoeco.core import query_plan
from mongoeco.engines import sqlite as mongoeco_sqlite

MONGOECO_VERSION = version("mongoeco")
WRITTEN_TABLE = "glimpse_written_documents"
COMPARABLE_JSON_TYPES = {"number": ("integer", "real"), "string": ("text",), "bool": ("true", "false")}


class GlimpseSQLiteEngine(mongoeco_sqlite.SQLiteEngine):

    def _validate_document_against_unique_indexes(self, db_name, coll_name, document, *, scan_payload_id=False,
                                                  **options):
        if scan_payload_id and not mongoeco_sqlite.id_contains_numeric_value(document.get("_id")):
            scan_payload_id = False
        return super()._validate_document_against_unique_indexes(
            db_name, coll_name, document, scan_payload_id=scan_payload_id, **options)

    def _translate_multikey_exists_clause(self, collection_id, db_name, coll_name, index, signatures):
        # type_score is a function of element_type: adding it changes no answer.
        physical_name = self._quote_identifier(str(index["multikey_physical_name"]))
        clauses, params = [], []
        for element_type, element_key in signatures:
            clauses.append(
                f"EXISTS (SELECT 1 FROM multikey_entries INDEXED BY {physical_name} "  # nosec B608 (quoted identifier)
                "WHERE collection_id = ? AND index_name = ? AND type_score = ? AND element_key = ? "
                "AND storage_key = documents.storage_key AND element_type = ?)"
            )
            params += [collection_id, index["name"], self._multikey_type_score(element_type), element_key, element_type]
        return "(" + " OR ".join(clauses) + ")", params

    def _translate_query_plan_with_multikey(self, db_name, coll_name, plan):
        keys = self._exact_id_keys(plan)
        if keys is None:
            return super()._translate_query_plan_with_multikey(db_name, coll_name, plan)
        return f"documents.storage_key IN ({', '.join('?' * len(keys))})", keys

    def _exact_id_keys(self, plan) -> list[str] | None:
        if getattr(plan, "field", None) != "_id":
            return None
        if isinstance(plan, query_plan.EqualsCondition):
            values = (plan.value,)
        elif isinstance(plan, query_plan.InCondition):
            values = plan.values
        else:
            return None
        if not values or not all(isinstance(value, ObjectId | str) for value in values):
            return None
        return [self._storage_key(value) for value in values]

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

    @staticmethod
    def _record_written_documents(conn) -> None:
        """Triggers that note each inserted or updated document until the next cache update."""
        conn.execute(f"CREATE TABLE IF NOT EXISTS {WRITTEN_TABLE} (db_name TEXT NOT NULL, coll_name TEXT NOT NULL, "
                     "storage_key TEXT NOT NULL, PRIMARY KEY (db_name, coll_name, storage_key)) WITHOUT ROWID")
        for event in ("INSERT", "UPDATE"):
            conn.execute(f"CREATE TRIGGER IF NOT EXISTS glimpse_note_{event.lower()} AFTER {event} ON documents "
                         f"BEGIN INSERT OR IGNORE INTO {WRITTEN_TABLE} VALUES "
                         "(NEW.db_name, NEW.coll_name, NEW.storage_key); END")
        conn.execute(f"DELETE FROM {WRITTEN_TABLE}")  # nosec B608 (constant); the engine's cache starts empty

    def _invalidate_collection_features_cache(self, db_name=None, coll_name=None) -> None:
        conn = getattr(self._thread_local, "connection", None)  # the writer's, inside its transaction
        if db_name is None or coll_name is None or conn is None:
            super()._invalidate_collection_features_cache(db_name, coll_name)
            return
        absent = {}
        for key, value in self._collection_features_cache.items():
            if key[:2] == (db_name, coll_name) and value is False and (condition := written_fact_condition(key[2])):
                absent[key] = condition
        super()._invalidate_collection_features_cache(db_name, coll_name)
        for key, (sql, params) in absent.items():
            row = conn.execute(
                f"SELECT 1 FROM {WRITTEN_TABLE} AS written CROSS JOIN documents "  # nosec B608 (constants and our own conditions)
                "ON documents.db_name = written.db_name AND documents.coll_name = written.coll_name "
                "AND documents.storage_key = written.storage_key "
                f"WHERE written.db_name = ? AND written.coll_name = ? AND ({sql}) LIMIT 1",
                (db_name, coll_name, *params),
            ).fetchone()
            if row is None:
                self._collection_features_cache[key] = False
        conn.execute(f"DELETE FROM {WRITTEN_TABLE} WHERE db_name = ? AND coll_name = ?",  # nosec B608 (constant)
                     (db_name, coll_name))


def written_fact_condition(fact: str) -> tuple[str, list] | None:
    """The SQL condition under which one document makes a cached "no document has..." fact true,
    as the stock fact's own query states it (SQLiteEngine._field_..._in_collection); None for
    the facts we leave to mongoeco. (The caller's CROSS JOIN makes SQLite start from the few
    written documents instead of scanning the collection.)"""
    kind, _, rest = fact.partition(":")
    condition = FACT_CONDITIONS.get(kind)
    return condition(rest) if condition else None


def _path(field: str) -> str:
    return mongoeco_sqlite.json_path_for_field(field)


def _holds_tagged_type(rest: str):
    field, value_type = rest.rsplit(":", 1)
    codec = mongoeco_sqlite.DocumentCodec
    return "json_extract(documents.document, ?) = ?", [_path(field) + f'."{codec._MARKER}".{codec._TYPE}', value_type]


def _holds_json_type(json_type: str):
    return lambda field: ("json_type(documents.document, ?) = ?", [_path(field), json_type])


def _traverses_array(field: str):
    prefixes = mongoeco_sqlite.path_array_prefixes(field)
    if not prefixes:
        return None
    return " OR ".join(["json_type(documents.document, ?) = 'array'"] * len(prefixes)), [_path(p) for p in prefixes]


def _mismatches_type(rest: str):
    field, expected_type = rest.rsplit(":", 1)
    allowed = COMPARABLE_JSON_TYPES.get(expected_type)
    if allowed is None:  # mongoeco caches these as true from the start
        return None
    return (f"json_type(documents.document, ?) IS NOT NULL AND json_type(documents.document, ?) "
            f"NOT IN ({', '.join('?' * len(allowed))})", [_path(field), _path(field), *allowed])


FACT_CONDITIONS = {
    "tagged_type": _holds_tagged_type,
    "top_level_array": _holds_json_type("array"),
    "contains_real_numeric": _holds_json_type("real"),
    "traverses_array": _traverses_array,
    "comparison_mismatch": _mismatches_type,
}
