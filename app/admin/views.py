"""Admin pages: accounts (moderator role, suspension) and the audit log."""
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.admin import services
from app.auth.permissions import page_roles
from app.core.db import get_db
from app.core.errors import GlimpseError
from app.moderation import audit

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@page_roles("admin")
def users() -> ResponseReturnValue:
    accounts, next_cursor = services.list_users(get_db(), request.args.get("q", ""), request.args.get("cursor"), 50)
    return render_template("admin/users.html", accounts=accounts, next_cursor=next_cursor, query=request.args.get("q", ""))


@bp.post("/users/<username>/<any(grant, revoke):change>")
@page_roles("admin")
def moderator_role(username: str, change: str) -> ResponseReturnValue:
    try:
        services.set_moderator(get_db(), g.user, username, grant=change == "grant")
        flash(f"@{username} is {'now' if change == 'grant' else 'no longer'} a moderator.", "success")
    except GlimpseError as error:
        flash(error.message, "error")
    return redirect(url_for("admin.users", q=request.form.get("q", "")))


@bp.post("/users/<username>/<any(suspend, reinstate):change>")
@page_roles("admin")
def suspension(username: str, change: str) -> ResponseReturnValue:
    try:
        services.set_suspended(get_db(), g.user, username, suspended=change == "suspend",
                               reason=request.form.get("reason", ""))
        flash(f"@{username} is {'suspended' if change == 'suspend' else 'reinstated'}.", "success")
    except GlimpseError as error:
        flash(error.message, "error")
    return redirect(url_for("admin.users", q=request.form.get("q", "")))


@bp.get("/audit")
@page_roles("admin")
def audit_log() -> ResponseReturnValue:
    entries, next_cursor = audit.entries(get_db(), action=request.args.get("action") or None,
                                         actor=request.args.get("actor") or None, cursor=request.args.get("cursor"),
                                         limit=50)
    return render_template("admin/audit.html", entries=[audit.present_entry(entry) for entry in entries],
                           next_cursor=next_cursor, actions=audit.AUDIT_ACTIONS,
                           action=request.args.get("action", ""), actor=request.args.get("actor", ""))
