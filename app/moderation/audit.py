"""The audit log: every moderation and admin action, append-only (nothing updates or deletes it)."""
from bson import ObjectId

from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.pagination import keyset_page

AUDIT_ACTIONS = ("approve", "reject", "hide", "restore", "grant_moderator", "revoke_moderator", "suspend", "reinstate")


def record(db: MongoDatabase, *, actor: dict | None, action: str, target_type: str, target_id: ObjectId | str, reason: str = "",
           before: dict | None = None, after: dict | None = None) -> None:
    db.audit_log.insert_one({
        "at": utc_now(), "action": action, "target_type": target_type, "target_id": target_id,
        "actor_id": actor["_id"] if actor else None, "actor": actor["username"] if actor else "system",
        "reason": reason, "before": before or {}, "after": after or {},
    })


def entries(db: MongoDatabase, *, action: str | None, actor: str | None, target_id: ObjectId | str | None = None,
            cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    query: dict[str, object] = {}
    if action:
        query["action"] = action
    if actor:
        query["actor"] = actor
    if target_id is not None:
        query["target_id"] = target_id
    return keyset_page(db.audit_log, query, "at", cursor, limit)


def present_entry(entry: dict) -> dict:
    return {"id": str(entry["_id"]), "at": entry["at"].isoformat(), "action": entry["action"],
            "actor": entry["actor"], "target_type": entry["target_type"], "target_id": str(entry["target_id"]),
            "reason": entry["reason"], "before": entry["before"], "after": entry["after"]}
