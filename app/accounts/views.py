"""Account pages: downloading the account's data, and deleting the account (its danger zone)."""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as WerkzeugResponse

from app.accounts import export
from app.accounts.deletion import begin_deletion, check_confirmation
from app.auth.tokens import end_web_session, login_required
from app.core.db import get_db, get_fs
from app.core.errors import GlimpseError, RateLimitedError
from app.core.jobs.worker import wake_workers
from app.media.serving import send_stored_file

bp = Blueprint("accounts", __name__)


@bp.route("/settings/delete", methods=["GET", "POST"])
@login_required
def delete_account() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("accounts/delete.html", form={})
    confirm = request.form.get("confirm", "")
    try:
        check_confirmation(g.user, confirm)
        begin_deletion(get_db(), g.user, request.form.get("password", ""), client_address=request.remote_addr,
                       rounds=current_app.config["BCRYPT_ROUNDS"])
    except GlimpseError as error:
        response = current_app.make_response((render_template(
            "accounts/delete.html", form={"confirm": confirm}, error=error.message, field_errors=error.fields),
            error.status))
        if isinstance(error, RateLimitedError):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    wake_workers()
    flash("Your account is being deleted. Everything of it will be gone in a few minutes.", "info")
    # Its sessions have all ended already: the cookie only needs clearing.
    g.user = None
    return end_web_session(redirect(url_for("main.index")))


def send_export(ready: dict) -> WerkzeugResponse:
    """The zip as a download; only its owner's browser keeps it (send_stored_file's private caching)."""
    response = send_stored_file(get_fs(), ready["file_id"])
    response.headers["Content-Disposition"] = f'attachment; filename="glimpse-data-{ready["_id"]}.zip"'
    return response


@bp.route("/settings/export", methods=["GET", "POST"])
@login_required
def data_export() -> ResponseReturnValue:
    if request.method == "POST":
        export.request_export(get_db(), g.user)
        wake_workers()
        return redirect(url_for("accounts.data_export"))
    state = export.present_export(export.current_export(get_db(), g.user),
                                  lambda ready: url_for("accounts.download_export", export_id=ready["_id"]))
    return render_template("accounts/export.html", export=state)


@bp.get("/settings/export/<export_id>/download")
@login_required
def download_export(export_id: str) -> ResponseReturnValue:
    return send_export(export.downloadable_export(get_db(), g.user, export_id))
