"""`flask seed` and `flask import-photos` with real photos; what `make run` starts."""
import os
import shutil
import subprocess

from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import PROJECT_ROOT, api_upload, bearer, sample_photos, signed_up_tokens


def test_seed_makes_users_follows_posts_and_likes(runner, db):
    sample_photos(DATASETS_DIR, 1)
    result = runner.invoke(args=["seed", "--users", "4", "--posts", "6", "--photos", str(DATASETS_DIR / "photos")])
    assert result.exit_code == 0, result.output
    assert db.users.count_documents({}) == 4 and db.posts.count_documents({}) == 6
    assert db.follows.count_documents({}) > 0
    assert db.jobs.count_documents({"kind": "enrich_post"}) == 6
    assert db.posts.find_one()["caption"].endswith(".")  # a real Flickr8k caption


def test_seed_without_photos_says_where_they_should_be(runner, tmp_path):
    result = runner.invoke(args=["seed", "--users", "2", "--posts", "2", "--photos", str(tmp_path / "none")])
    assert result.exit_code != 0 and "No photos found" in result.output


def test_import_photos_imports_a_folder_and_reports_bad_files(runner, db, tmp_path, client):
    for path in sample_photos(DATASETS_DIR, 3):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "broken.jpg").write_bytes(b"not a photo at all")
    runner.invoke(args=["users", "create", "--username", "album", "--email", "album@example.com", "--password", "album password"])
    result = runner.invoke(args=["import-photos", str(tmp_path), "--user", "album"])
    assert result.exit_code == 0, result.output
    assert "imported 3 photos" in result.output and "refused broken.jpg" in result.output
    assert db.posts.count_documents({}) == 3
    assert runner.invoke(args=["import-photos", str(tmp_path), "--user", "nobody"]).exit_code != 0


def test_doctor_finds_and_repairs_what_is_out_of_place(runner, db, client):
    token = signed_up_tokens(client, "alice")["access_token"]
    bob = signed_up_tokens(client, "bob")["access_token"]
    post = api_upload(client, token, sample_photos(DATASETS_DIR, 1)).get_json()
    bobs_post = api_upload(client, bob, sample_photos(DATASETS_DIR, 1)).get_json()
    client.put("/api/v1/users/alice/follow", headers=bearer(bob))
    assert runner.invoke(args=["doctor", "--grace-minutes", "0"]).output.strip().endswith("clean")
    # What a crash or a bug could leave behind:
    db.posts.delete_one({"_id": ObjectId(post["id"])})  # files left without their post
    db.likes.insert_one({"_id": "x:y", "post_id": db.fs.files.find_one()["metadata"]["post_id"], "user_id": None})
    db.users.update_one({"username": "bob"}, {"$set": {"following_ids": []}})
    db.posts.update_one({"_id": ObjectId(bobs_post["id"])}, {"$set": {"author_avatar_file_id": ObjectId()}})
    report = runner.invoke(args=["doctor", "--grace-minutes", "0"])
    assert report.exit_code == 1
    assert "orphan_files: 3" in report.output and "dangling_likes: 1" in report.output
    assert "following_out_of_step: 1" in report.output and "stale_jobs: 1" in report.output
    assert "authors_out_of_step: 1" in report.output
    repaired = runner.invoke(args=["doctor", "--repair", "--grace-minutes", "0"])
    assert repaired.exit_code == 0 and repaired.output.strip().endswith("clean"), repaired.output
    assert db.fs.files.count_documents({"metadata.post_id": ObjectId(post["id"])}) == 0
    assert db.fs.chunks.count_documents({"files_id": {"$nin": db.fs.files.distinct("_id")}}) == 0
    assert len(db.users.find_one({"username": "bob"})["following_ids"]) == 1
    assert [(row["_id"], row["author_avatar_file_id"]) for row in db.posts.find()] == [(ObjectId(bobs_post["id"]), None)]


def test_make_run_turns_the_mail_viewer_on_only_for_a_bare_local_start(tmp_path):
    fake_python = tmp_path / "python"  # stands in for .venv/bin/python: tells what run.py would be given
    fake_python.write_text('#!/bin/sh\necho "DEV_MAIL_VIEWER=[$DEV_MAIL_VIEWER]"\n')
    fake_python.chmod(0o755)
    bare = {name: value for name, value in os.environ.items() if name not in ("MAIL_SERVER", "BASE_URL", "DEV_MAIL_VIEWER")}

    def viewer(**env):
        result = subprocess.run(["make", "--no-print-directory", "-o", "install", "-o", "css", "run", f"BIN={tmp_path}"],
                                cwd=PROJECT_ROOT, env={**bare, **env}, capture_output=True, text=True, check=True)
        return result.stdout.rsplit("DEV_MAIL_VIEWER=[", 1)[1].split("]")[0]

    assert viewer() == "1"
    assert viewer(MAIL_SERVER="smtp.example.com") == ""
    assert viewer(BASE_URL="https://glimpse.example") == ""
    assert viewer(DEV_MAIL_VIEWER="0") == "0"
