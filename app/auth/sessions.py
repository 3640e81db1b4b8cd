"""Sessions: one per sign-in (a web login or an API login), kept on the user document.

Every token names its session (the `sid` claim) and counts only while that session is on its user's
document and unexpired; ending a session ends every token issued from that sign-in at once. The
user document is read on every authenticated request anyway, so checking costs no extra round trip.

    users.sessions = {sid: {kind: "web" | "api", created_at, last_seen_at, expires_at, user_agent, ip,
                            refresh_jti (api only: the one refresh token that may be used next)}}
"""
import secrets
from datetime import timedelta
from typing import Literal

from bson import ObjectId

from app.auth.devices import describe_device
from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.errors import NotFoundError

# Enough for every device a person owns; beyond it the least recently seen make room.
MAX_SESSIONS_PER_USER = 50
# How stale last_seen_at may get: writing it on every request would turn reads into writes.
LAST_SEEN_EVERY = timedelta(minutes=5)
USER_AGENT_MAX_LENGTH = 200


def _new_id() -> str:
    return secrets.token_urlsafe(16)


def list_sessions(user: dict) -> list[dict]:
    """The user's live sessions (from their document), most recently seen first, each with its `id`."""
    now = utc_now()
    live = [{"id": sid, **session} for sid, session in user.get("sessions", {}).items() if session["expires_at"] > now]
    return sorted(live, key=lambda session: session["last_seen_at"], reverse=True)


def present_sessions(user: dict, current_sid: str | None) -> list[dict]:
    """The user's live sessions as their owner sees them: device, address, first and last seen, and
    which is the asking one. Never the refresh token id."""
    return [{"id": session["id"], "device": describe_device(session.get("user_agent", ""), session["kind"]),
             "ip": session.get("ip", ""), "created_at": session["created_at"].isoformat(),
             "last_seen_at": session["last_seen_at"].isoformat(), "current": session["id"] == current_sid}
            for session in list_sessions(user)]


def start_session(db: MongoDatabase, user: dict, kind: Literal["web", "api"], *, lifetime: timedelta, user_agent: str = "", ip: str = "") -> dict:
    """Record a sign-in and return its session, with its `id`. In the same write the user's expired
    sessions go, and the least recently seen of those beyond the limit."""
    now = utc_now()
    session = {"kind": kind, "created_at": now, "last_seen_at": now, "expires_at": now + lifetime,
               "user_agent": user_agent[:USER_AGENT_MAX_LENGTH], "ip": ip}
    if kind == "api":
        session["refresh_jti"] = _new_id()
    sid = _new_id()
    update: dict[str, dict[str, object]] = {"$set": {f"sessions.{sid}": session}}
    keep = {kept["id"] for kept in list_sessions(user)[:MAX_SESSIONS_PER_USER - 1]}
    if dropped := set(user.get("sessions", {})) - keep:
        update["$unset"] = {f"sessions.{old}": "" for old in dropped}
    db.users.update_one({"_id": user["_id"]}, update)
    return {"id": sid, **session}


def end_session(db: MongoDatabase, user_id: ObjectId, sid: str) -> None:
    db.users.update_one({"_id": user_id}, {"$unset": {f"sessions.{sid}": ""}})


def end_own_session(db: MongoDatabase, user: dict, sid: str) -> None:
    """End one of the user's live sessions; an id that is not one of theirs is not found (and is
    never written into a field path)."""
    if sid not in {session["id"] for session in list_sessions(user)}:
        raise NotFoundError("No such session.")
    end_session(db, user["_id"], sid)


def end_all_sessions(db: MongoDatabase, user_id: ObjectId, *, keep: str | None = None) -> None:
    """End every session of the user, but `keep` if given. One write, so a session started meanwhile
    cannot slip between reading the sessions and removing them."""
    db.users.update_one({"_id": user_id}, [{"$set": {"sessions": {"$arrayToObject": {"$filter": {
        "input": {"$objectToArray": {"$ifNull": ["$sessions", {}]}},
        "cond": {"$eq": ["$$this.k", keep]},
    }}}}}])


def check_session(db: MongoDatabase, user: dict, sid: object, *, refresh_jti: str | None = None) -> bool:
    """Whether a token of session `sid` may act for `user` now; a refresh token (`refresh_jti`) also
    must be its session's current one. A refresh token already used, presented again, means someone
    holds a copy: the session ends for everyone holding its tokens (reuse detection)."""
    if not isinstance(sid, str):
        return False
    session = user.get("sessions", {}).get(sid)
    if session is None or session["expires_at"] <= utc_now():
        return False
    if refresh_jti is not None and refresh_jti != session.get("refresh_jti"):
        end_session(db, user["_id"], sid)
        return False
    _mark_seen(db, user["_id"], sid, session)
    return True


def _mark_seen(db: MongoDatabase, user_id: ObjectId, sid: str, session: dict) -> None:
    now = utc_now()
    if now - session["last_seen_at"] < LAST_SEEN_EVERY:
        return
    # Conditional: of concurrent requests one writes, and a session ended meanwhile is not brought back.
    db.users.update_one({"_id": user_id, f"sessions.{sid}.last_seen_at": {"$lte": now - LAST_SEEN_EVERY}},
                        {"$set": {f"sessions.{sid}.last_seen_at": now}})


def rotate_refresh_token(db: MongoDatabase, user_id: ObjectId, sid: str, used_jti: str, *, lifetime: timedelta) -> str | None:
    """Replace the session's refresh token id `used_jti` by a new one (returned) and give the session
    `lifetime` more. When `used_jti` is no longer current (a replay, or a concurrent refresh with the
    same token won) the session ends and None is returned."""
    now, new_jti = utc_now(), _new_id()
    result = db.users.update_one(
        {"_id": user_id, f"sessions.{sid}.refresh_jti": used_jti},
        {"$set": {f"sessions.{sid}.refresh_jti": new_jti, f"sessions.{sid}.expires_at": now + lifetime,
                  f"sessions.{sid}.last_seen_at": now}},
    )
    if result.matched_count == 0:
        end_session(db, user_id, sid)
        return None
    return new_jti
