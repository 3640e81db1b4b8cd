"""Consistency checks over the whole database, and their repairs (`flask doctor [--repair]`).

Uploads store their files before their post, so a crash in between leaves files without a post;
those are only called orphans once they are older than GRACE, never while an upload may still
be finishing.
"""
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from app.accounts.deletion import DELETE_ACCOUNT_JOB, enqueue_deletion
from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.statuses import PostStatus, UserStatus
from app.posts.authors import COPIED, author_fields, copy_author_to_posts
from app.posts.services import remove_post_everywhere
from app.social.blocks import RELATIONS

GRACE = timedelta(minutes=10)
LIVE_STATUSES = (PostStatus.PUBLISHED, PostStatus.PENDING, PostStatus.HELD, PostStatus.HIDDEN)


@dataclass
class Finding:
    check: str
    description: str
    ids: list = field(default_factory=list)


def _post_ids(db: MongoDatabase) -> set:
    return set(db.posts.distinct("_id"))


def orphan_files(db: MongoDatabase, grace: timedelta) -> Finding:
    posts = _post_ids(db)
    cutoff = utc_now() - grace
    live_files = {file_id for post in db.posts.find({}, {"photos.files": 1})
                  for photo in post.get("photos", []) for file_id in photo["files"].values()}
    kept = {"avatar": set(db.users.distinct("avatar_file_id")), "export": set(db.exports.distinct("file_id"))}
    orphans = [row["_id"] for row in db.fs.files.find({"uploadDate": {"$lt": cutoff}}, {"metadata": 1})
               if (metadata := row.get("metadata") or {})
               and (("post_id" in metadata and (metadata["post_id"] not in posts or row["_id"] not in live_files))
                    or (metadata.get("kind") in kept and row["_id"] not in kept[metadata["kind"]]))]
    return Finding("orphan_files", "GridFS files that no post, avatar or data export uses", orphans)


def orphan_chunks(db: MongoDatabase) -> Finding:
    files = set(db.fs.files.distinct("_id"))
    orphans = sorted({row["files_id"] for row in db.fs.chunks.find({}, {"files_id": 1}) if row["files_id"] not in files})
    return Finding("orphan_chunks", "GridFS chunks whose file record is gone (by file id)", orphans)


def posts_without_files(db: MongoDatabase) -> Finding:
    files = set(db.fs.files.distinct("_id"))
    broken = [post["_id"] for post in db.posts.find({"status": {"$in": list(LIVE_STATUSES)}}, {"photos": 1})
              if not post.get("photos")
              or any(file_id not in files for photo in post["photos"] for file_id in photo["files"].values())]
    return Finding("posts_without_files", "posts missing some of their photo files", broken)


def dangling(db: MongoDatabase, collection: str) -> Finding:
    posts = _post_ids(db)
    rows = [row["_id"] for row in db[collection].find({"post_id": {"$ne": None}}, {"post_id": 1})
            if row.get("post_id") is not None and row["post_id"] not in posts]
    return Finding(f"dangling_{collection}", f"{collection} of posts that no longer exist", rows)


def stale_jobs(db: MongoDatabase, grace: timedelta) -> Finding:
    """Jobs about posts that are gone, and jobs whose worker died long ago."""
    posts = {str(post_id) for post_id in _post_ids(db)}
    long_ago = utc_now() - grace
    stale = [job["_id"] for job in db.jobs.find({"status": {"$in": ["queued", "running"]}})
             if (job["kind"] == "enrich_post" and job["payload"].get("post_id") not in posts)
             or (job["status"] == "running" and job.get("lease_until") and job["lease_until"] < long_ago)]
    return Finding("stale_jobs", "jobs for deleted posts, or abandoned by a dead worker", stale)


def following_out_of_step(db: MongoDatabase) -> Finding:
    """Users whose followed ids (kept on the user for the home feed) disagree with `follows`."""
    truth: dict = {}
    for row in db.follows.find({}, {"follower_id": 1, "followee_id": 1}):
        truth.setdefault(row["follower_id"], set()).add(row["followee_id"])
    wrong = [user["_id"] for user in db.users.find({}, {"following_ids": 1})
             if set(user.get("following_ids", [])) != truth.get(user["_id"], set())]
    return Finding("following_out_of_step", "users whose followed ids disagree with the follows", wrong)


def _kept_ids() -> Iterator[tuple[str, str, str, str]]:
    """(collection, field of the user the ids are kept on, field of a row naming that user, field
    naming the id kept) for each id array that blocks and mutes keep on users."""
    for relation in RELATIONS:
        yield relation.collection, relation.kept, relation.owner_field, relation.other_field
        if relation.kept_on_other:
            yield relation.collection, relation.kept_on_other, relation.other_field, relation.owner_field


def _kept_ids_truth(db: MongoDatabase, collection: str, owner: str, named: str) -> dict:
    truth: dict = {}
    for row in db[collection].find({}, {owner: 1, named: 1}):
        truth.setdefault(row[owner], set()).add(row[named])
    return truth


def blocks_out_of_step(db: MongoDatabase) -> Finding:
    """Users whose blocked, blocked-by or muted ids (kept on the user for feeds) disagree with
    `blocks` and `mutes`."""
    wrong = set()
    for collection, kept, owner, named in _kept_ids():
        truth = _kept_ids_truth(db, collection, owner, named)
        wrong |= {user["_id"] for user in db.users.find({}, {kept: 1})
                  if set(user.get(kept, [])) != truth.get(user["_id"], set())}
    return Finding("blocks_out_of_step", "users whose blocked or muted ids disagree with the blocks and mutes",
                   sorted(wrong))


def authors_out_of_step(db: MongoDatabase) -> Finding:
    """Users whose posts keep (author_fields) a name, avatar or privacy other than theirs."""
    users = {user["_id"]: tuple(author_fields(user)[key] for key in COPIED)
             for user in db.users.find({}, {"username": 1, "avatar_file_id": 1, "private": 1})}
    missing = tuple(author_fields(None)[key] for key in COPIED)
    wrong = {post["author_id"] for post in db.posts.find({"author_id": {"$ne": None}}, {"author_id": 1, **dict.fromkeys(COPIED, 1)})
             if tuple(post.get(key, False if key == "author_private" else None) for key in COPIED)
             != users.get(post["author_id"], missing)}
    return Finding("authors_out_of_step", "users whose posts show another name, avatar or privacy than theirs",
                   sorted(wrong))


def deletions_without_job(db: MongoDatabase) -> Finding:
    """Accounts marked for deletion whose job is gone (it failed for good): nothing would finish them."""
    queued = set(db.jobs.distinct("payload.user_id", {"kind": DELETE_ACCOUNT_JOB, "status": {"$in": ["queued", "running"]}}))
    stuck = [user["_id"] for user in db.users.find({"status": UserStatus.DELETING}, {"_id": 1})
             if str(user["_id"]) not in queued]
    return Finding("deletions_without_job", "accounts half deleted with no job to finish them", stuck)


def examine(db: MongoDatabase, grace: timedelta = GRACE) -> list[Finding]:
    checks = [orphan_files(db, grace), orphan_chunks(db), posts_without_files(db), stale_jobs(db, grace),
              following_out_of_step(db), blocks_out_of_step(db), authors_out_of_step(db), deletions_without_job(db)]
    checks += [dangling(db, name) for name in ("likes", "comments", "saves", "notifications", "post_vectors")]
    return checks


def _delete_files(db: MongoDatabase, file_ids: list) -> None:
    db.fs.chunks.delete_many({"files_id": {"$in": file_ids}})
    db.fs.files.delete_many({"_id": {"$in": file_ids}})


def _delete_chunks(db: MongoDatabase, file_ids: list) -> None:
    db.fs.chunks.delete_many({"files_id": {"$in": file_ids}})


def _remove_posts(db: MongoDatabase, post_ids: list) -> None:
    for post_id in post_ids:
        remove_post_everywhere(db, post_id)


def _settle_jobs(db: MongoDatabase, job_ids: list) -> None:
    posts = {str(post_id) for post_id in _post_ids(db)}
    for job in db.jobs.find({"_id": {"$in": job_ids}}):
        if job["kind"] == "enrich_post" and job["payload"].get("post_id") not in posts:
            db.jobs.delete_one({"_id": job["_id"]})
        else:  # give it back to the queue rather than lose it
            db.jobs.update_one({"_id": job["_id"]}, {"$set": {"status": "queued", "lease_until": None,
                                                              "run_at": utc_now()}})


def _recount_following(db: MongoDatabase, user_ids: list) -> None:
    for user_id in user_ids:
        followed = [row["followee_id"] for row in db.follows.find({"follower_id": user_id}, {"followee_id": 1})]
        db.users.update_one({"_id": user_id}, {"$set": {"following_ids": followed, "following_count": len(followed)}})


def _rewrite_blocks(db: MongoDatabase, user_ids: list) -> None:
    for collection, kept, owner, named in _kept_ids():
        for user_id in user_ids:
            ids = [row[named] for row in db[collection].find({owner: user_id}, {named: 1})]
            db.users.update_one({"_id": user_id}, {"$set": {kept: ids}})


def _copy_authors(db: MongoDatabase, user_ids: list) -> None:
    for user_id in user_ids:
        copy_author_to_posts(db, user_id)


def _queue_deletions(db: MongoDatabase, user_ids: list) -> None:
    for user_id in user_ids:
        enqueue_deletion(db, user_id)


REPAIRS = {"orphan_files": _delete_files, "orphan_chunks": _delete_chunks, "posts_without_files": _remove_posts,
           "stale_jobs": _settle_jobs, "following_out_of_step": _recount_following,
           "blocks_out_of_step": _rewrite_blocks, "authors_out_of_step": _copy_authors,
           "deletions_without_job": _queue_deletions}


def repair(db: MongoDatabase, finding: Finding) -> None:
    if not finding.ids:
        return
    if finding.check in REPAIRS:
        REPAIRS[finding.check](db, finding.ids)
    else:
        collection = finding.check.removeprefix("dangling_")
        db[collection].delete_many({"_id": {"$in": finding.ids}})
