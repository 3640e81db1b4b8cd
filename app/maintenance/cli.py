"""`flask` commands: the embedded database, background workers, accounts."""
import time
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.auth.services import ROLES, create_user, find_user_by_username
from app.config import datasets_dir
from app.core import embedded_mongo
from app.core.db import get_db, get_fs
from app.core.errors import GlimpseError
from app.core.jobs.worker import WorkerPool
from app.enrichment.cli import ml_cli
from app.maintenance import doctor
from app.maintenance.seed import seed
from app.posts.importer import import_photos, photo_files
from app.posts.requests import upload_limits

DEFAULT_PHOTOS_DIR = datasets_dir() / "photos"

db_cli = AppGroup("db", help="The embedded MongoDB server.")
users_cli = AppGroup("users", help="Accounts.")


@db_cli.command("start")
def db_start() -> None:
    """Start (or find) the embedded server of GLIMPSE_DATA_DIR and print its URI."""
    click.echo(embedded_mongo.ensure_server(current_app.config["GLIMPSE_DATA_DIR"]))


@db_cli.command("stop")
def db_stop() -> None:
    """Stop the embedded server of GLIMPSE_DATA_DIR."""
    stopped = embedded_mongo.stop_server(current_app.config["GLIMPSE_DATA_DIR"])
    click.echo("stopped" if stopped else "not running")


@users_cli.command("create")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.password_option()
@click.option("--role", type=click.Choice(ROLES), default="user", show_default=True)
def users_create(username: str, email: str, password: str, role: str) -> None:
    """Create an account (e.g. the first admin); its address counts as verified: the operator vouches."""
    try:
        user = create_user(get_db(), username=username, email=email, password=password,
                           rounds=current_app.config["BCRYPT_ROUNDS"], role=role, email_verified=True)
    except GlimpseError as error:
        details = "; ".join(f"{field}: {problem}" for field, problem in error.fields.items())
        raise click.ClickException(f"{error.message} {details}".strip()) from None
    click.echo(f"created {role} {user['username']}")


@click.command("doctor")
@click.option("--repair", is_flag=True, help="Fix what is found.")
@click.option("--grace-minutes", type=click.IntRange(0), default=int(doctor.GRACE.total_seconds() // 60),
              show_default=True, help="Leave files and jobs younger than this alone (uploads in flight).")
@with_appcontext
def doctor_command(repair: bool, grace_minutes: int) -> None:
    """Find (and with --repair, fix) orphan files, posts without files, dangling likes and comments, stale jobs."""
    db, grace = get_db(), timedelta(minutes=grace_minutes)
    findings = doctor.examine(db, grace)
    for finding in findings:
        click.echo(f"{finding.check}: {len(finding.ids)}  ({finding.description})")
    if repair:
        for finding in findings:
            doctor.repair(db, finding)
        findings = doctor.examine(db, grace)
    problems = sum(len(finding.ids) for finding in findings)
    click.echo("clean" if not problems else f"{problems} problems")
    if problems:
        raise click.exceptions.Exit(1)


@click.command("worker")
@with_appcontext
@click.option("--threads", type=int, default=None, help="Worker threads (default: JOB_WORKERS).")
def worker(threads: int | None) -> None:
    """Run background jobs in this process until interrupted (scales past one machine)."""
    pool = WorkerPool(current_app._get_current_object(), threads or current_app.config["JOB_WORKERS"]).start()  # type: ignore[attr-defined]  # the proxy's target
    click.echo(f"{pool.threads} job workers running; Ctrl-C stops them")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pool.stop()


@click.command("seed")
@with_appcontext
@click.option("--users", "user_count", type=click.IntRange(1), default=50, show_default=True)
@click.option("--posts", "post_count", type=click.IntRange(0), default=500, show_default=True)
@click.option("--photos", "photos_dir", type=click.Path(path_type=Path), default=DEFAULT_PHOTOS_DIR,
              show_default=True, help="Folder of real photos to post.")
def seed_command(user_count: int, post_count: int, photos_dir: Path) -> None:
    """Fill the database with demo users, follows, posts and likes made from real photos."""
    with click.progressbar(length=post_count, label="posting") as bar:
        try:
            result = seed(get_db(), get_fs(), photos_dir=photos_dir, users=user_count, posts=post_count,
                          limits=upload_limits(), rounds=current_app.config["BCRYPT_ROUNDS"],
                          on_post=lambda: bar.update(1))
        except GlimpseError as error:
            raise click.ClickException(error.message) from None
    click.echo(f"{result['users']} users (demo000... password {result['password']!r}), {result['posts']} posts")


@click.command("import-photos")
@with_appcontext
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="The account the posts belong to.")
def import_photos_command(folder: Path, username: str) -> None:
    """Import every photo in FOLDER as a post of --user (an album)."""
    author = find_user_by_username(get_db(), username)
    if author is None:
        raise click.ClickException(f"No user {username!r}.")
    paths = photo_files(folder)
    with click.progressbar(length=len(paths), label=f"importing {len(paths)} photos") as bar:
        report = import_photos(get_db(), get_fs(), author=author, paths=paths, limits=upload_limits(),
                               on_each=lambda path: bar.update(1))
    click.echo(f"imported {report.imported} photos")
    for name, reason in report.refused.items():
        click.echo(f"refused {name}: {reason}", err=True)
    if report.refused and not report.imported:
        raise click.exceptions.Exit(1)


def init_app(app: Flask) -> None:
    for command in (db_cli, users_cli, worker, doctor_command, seed_command, import_photos_command, ml_cli):
        app.cli.add_command(command)
