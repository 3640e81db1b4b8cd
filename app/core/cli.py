"""`flask` commands: the embedded database, background workers, accounts."""
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.auth.services import ROLES, create_user
from app.core import embedded_mongo
from app.core.db import get_db
from app.core.errors import GlimpseError

db_cli = AppGroup("db", help="The embedded MongoDB server.")
users_cli = AppGroup("users", help="Accounts.")


@db_cli.command("start")
def db_start():
    """Start (or find) the embedded server of GLIMPSE_DATA_DIR and print its URI."""
    click.echo(embedded_mongo.ensure_server(current_app.config["GLIMPSE_DATA_DIR"]))


@db_cli.command("stop")
def db_stop():
    """Stop the embedded server of GLIMPSE_DATA_DIR."""
    stopped = embedded_mongo.stop_server(current_app.config["GLIMPSE_DATA_DIR"])
    click.echo("stopped" if stopped else "not running")


@users_cli.command("create")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.password_option()
@click.option("--role", type=click.Choice(ROLES), default="user", show_default=True)
def users_create(username, email, password, role):
    """Create an account (e.g. the first admin)."""
    try:
        user = create_user(get_db(), username=username, email=email, password=password,
                           rounds=current_app.config["BCRYPT_ROUNDS"], role=role)
    except GlimpseError as error:
        details = "; ".join(f"{field}: {problem}" for field, problem in error.fields.items())
        raise click.ClickException(f"{error.message} {details}".strip()) from None
    click.echo(f"created {role} {user['username']}")


@click.command("worker")
@click.option("--threads", type=int, default=None, help="Worker threads (default: JOB_WORKERS).")
def worker(threads):
    """Run background jobs in this process until interrupted (scales past one machine)."""
    from app.jobs.worker import WorkerPool

    pool = WorkerPool(current_app._get_current_object(), threads or current_app.config["JOB_WORKERS"]).start()
    click.echo(f"{pool.threads} job workers running; Ctrl-C stops them")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pool.stop()


def init_app(app: Flask) -> None:
    for command in (db_cli, users_cli, worker):
        app.cli.add_command(command)
