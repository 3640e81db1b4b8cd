"""Admin actions on accounts: moderator role, suspension. Each one is audited."""
from app.auth.services import find_user_by_username
from app.auth.sessions import end_all_sessions
from app.core.db import MongoDatabase
from app.core.errors import ForbiddenError, NotFoundError, ValidationError
from app.core.pagination import keyset_page
from app.core.statuses import UserStatus
from app.moderation import audit
from app.moderation.services import clean_reason


def require_admin(user: dict | None) -> None:
    if user is None or user["role"] != "admin":
        raise ForbiddenError("Only admins can do this.")


def _account(db: MongoDatabase, username: str) -> dict:
    user = find_user_by_username(db, username)
    # One being deleted is nobody's to change: reinstating it would bring a half-deleted account back.
    if user is None or user["status"] == UserStatus.DELETING:
        raise NotFoundError("No such user.")
    return user


def set_moderator(db: MongoDatabase, admin: dict, username: str, grant: bool) -> dict:
    require_admin(admin)
    user = _account(db, username)
    if user["role"] == "admin":
        raise ValidationError("Admins already moderate; change an admin's role from the command line.")
    role = "moderator" if grant else "user"
    if user["role"] != role:
        db.users.update_one({"_id": user["_id"]}, {"$set": {"role": role}})
        audit.record(db, actor=admin, action="grant_moderator" if grant else "revoke_moderator", target_type="user",
                     target_id=user["_id"], before={"role": user["role"]}, after={"role": role})
    return {**user, "role": role}


def set_suspended(db: MongoDatabase, admin: dict, username: str, suspended: bool, reason: str) -> dict:
    """A suspended account cannot sign in, and every token it holds stops working at once."""
    require_admin(admin)
    user = _account(db, username)
    if user["_id"] == admin["_id"]:
        raise ValidationError("You cannot suspend yourself.")
    reason = clean_reason(reason, required=suspended)
    status = UserStatus.SUSPENDED if suspended else UserStatus.ACTIVE
    if user["status"] != status:
        db.users.update_one({"_id": user["_id"]}, {"$set": {"status": status}})
        if suspended:
            end_all_sessions(db, user["_id"])
        audit.record(db, actor=admin, action="suspend" if suspended else "reinstate", target_type="user",
                     target_id=user["_id"], reason=reason, before={"status": user["status"]}, after={"status": status})
    return {**user, "status": status}


def list_users(db: MongoDatabase, query: str, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    search = {"username_lower": {"$regex": f"^{_escape(query.lower())}"}} if query else {}
    return keyset_page(db.users, search, "created_at", cursor, limit)


def _escape(text: str) -> str:
    return "".join(f"\\{char}" if not char.isalnum() else char for char in text)
