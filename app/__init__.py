"""Glimpse: a photo-sharing web app on Flask and MongoDB."""
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import PROJECT_ROOT, check_config, config_from_env

# Routes anyone may post to without an account: they read small bodies only (app/core/request_limits.py).
UNAUTHENTICATED_PATHS = ("/api/v1/auth/", "/login", "/signup", "/forgot", "/reset/")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                static_folder=str(PROJECT_ROOT / "static"))
    app.config.update(config_from_env())
    if test_config:
        app.config.update(test_config)
    check_config(app.config)
    if app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # the documented way to wrap it
            app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"], x_proto=1, x_host=1)

    from app.auth import tokens
    from app.auth.permissions import is_staff
    from app.core import conditional, csrf, db, errors, request_limits, security
    from app.core.extensions import mail
    from app.core.statuses import PostStatus, UserStatus
    from app.maintenance import cli
    from app.maintenance.migrations import migrate

    request_limits.init_app(app, small_body_paths=UNAUTHENTICATED_PATHS)
    db.init_app(app, data_migrations=migrate)
    mail.init_app(app)
    tokens.init_app(app)
    csrf.init_app(app)
    security.init_app(app)
    conditional.init_app(app)  # runs first of the two: it decides Cache-Control for pages and API answers
    errors.register_error_handlers(app)
    cli.init_app(app)
    register_job_handlers(app)
    app.add_template_global(is_staff)
    app.jinja_env.globals.update(PostStatus=PostStatus, UserStatus=UserStatus)  # templates name statuses too

    from app import api, dev
    from app.accounts.views import bp as account_pages
    from app.admin.views import bp as admin_pages
    from app.auth.views import bp as auth_pages
    from app.main.views import bp as main_pages
    from app.moderation.views import bp as moderation_pages
    from app.posts.views import bp as post_pages
    from app.social.views import bp as social_pages

    for blueprint in (main_pages, auth_pages, post_pages, social_pages, moderation_pages, admin_pages,
                      account_pages, dev.bp):
        app.register_blueprint(blueprint)
    api.init_app(app)
    return app


def register_job_handlers(app: Flask) -> None:
    """Every kind of background job and what runs it: the one place a job kind is added."""
    from app.accounts.deletion import DELETE_ACCOUNT_JOB
    from app.accounts.export import EXPIRE_EXPORT_JOB, EXPORT_JOB
    from app.accounts.jobs import (
        DELETION_PRIVATE_FIELDS,
        give_up_export_account,
        run_delete_account,
        run_expire_export,
        run_export_account,
    )
    from app.auth.reset_mail import RESET_MAIL_JOB, send_reset_mail
    from app.core.jobs import JobHandler, register_handlers
    from app.core.mail import MAIL_BODY_FIELDS, SEND_MAIL_JOB, deliver_mail
    from app.enrichment.jobs import give_up_enrich_post, run_enrich_post
    from app.posts.services import ENRICH_POST_JOB

    register_handlers(app, {
        SEND_MAIL_JOB: JobHandler(deliver_mail, private_fields=MAIL_BODY_FIELDS),
        RESET_MAIL_JOB: JobHandler(send_reset_mail),
        ENRICH_POST_JOB: JobHandler(run_enrich_post, give_up=give_up_enrich_post),
        DELETE_ACCOUNT_JOB: JobHandler(run_delete_account, private_fields=DELETION_PRIVATE_FIELDS),
        EXPORT_JOB: JobHandler(run_export_account, give_up=give_up_export_account),
        EXPIRE_EXPORT_JOB: JobHandler(run_expire_export),
    })
