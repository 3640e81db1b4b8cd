"""Photos described by the real models after upload, through the real job queue."""
import json
import os
import signal
import subprocess
import sys
import time
from io import BytesIO

import pytest
from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import api_upload, sample_photos, signed_up_tokens

from app.core.db import get_fs
from app.core.jobs.worker import WorkerPool
from app.enrichment.models import get_describer
from app.enrichment.service import enrich_post
from app.search.vectors import from_bson_vector

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dog_photo():
    """A photo all five of whose Flickr8k captions mention a dog."""
    token_file = DATASETS_DIR / "flickr8k" / "Flickr8k.token.txt"
    captions: dict[str, list[str]] = {}
    for line in token_file.read_text().splitlines():
        name, _, caption = line.partition("\t")
        captions.setdefault(name.split("#")[0], []).append(caption.lower())
    for path in sample_photos(DATASETS_DIR, 100):
        if all("dog" in caption for caption in captions.get(path.name, [""])):
            return path
    pytest.skip("no photo of a dog among the shared photos")


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_upload_is_described_alt_text_tags_and_vectors(client, db, workers):
    token = signed_up_tokens(client, "alice")["access_token"]
    post = api_upload(client, token, [dog_photo()], "Walk in the park").get_json()
    assert post["enrichment"] == "pending"
    described = wait_for(lambda: (body := client.get(f"/api/v1/posts/{post['id']}").get_json())["enrichment"] == "done" and body)
    assert described["alt_text"].endswith(".") and described["alt_text_source"] == "generated"
    assert "dog" in [tag["name"] for tag in described["tags"]]
    assert described["caption"] == "Walk in the park"  # the author's words stay theirs
    stored = db.posts.find_one({"_id": ObjectId(post["id"])})
    assert 0 <= stored["nsfw"] < 0.2 and set(stored["model_versions"]) >= {"captioner", "tagger", "encoder"}
    vectors = db.post_vectors.find_one({"_id": stored["_id"]})
    assert from_bson_vector(vectors["text"]).shape == (384,) and from_bson_vector(vectors["image"]).shape == (1280,)
    assert 0 < vectors["visual_text_hubness"] < 1  # what search holds back a photo close to every description by
    assert db.vector_changes.count_documents({"post_id": stored["_id"]}) == 1
    page = client.get(f"/p/{post['id']}").get_data(as_text=True)
    assert f'alt="{described["alt_text"]}"' in page and "describing" not in page


def test_author_alt_text_is_never_overwritten_and_removed_tags_stay_removed(app, client, db):
    token = signed_up_tokens(client, "alice")["access_token"]
    post = api_upload(client, token, [dog_photo()]).get_json()
    client.patch(f"/api/v1/posts/{post['id']}", headers={"Authorization": f"Bearer {token}"},
                 json={"alt_text": "My dog Rex.", "remove_tags": ["dog"]})
    with app.app_context():
        enrich_post(db, get_fs(), get_describer(), post["id"])
    stored = db.posts.find_one({"_id": ObjectId(post["id"])})
    assert stored["alt_text"] == "My dog Rex." and stored["generated_caption"]
    assert "dog" not in [tag["name"] for tag in stored["tags"]]


def test_a_corrupt_stored_image_fails_its_job_but_not_the_post(app, client, db):
    token = signed_up_tokens(client, "alice")["access_token"]
    post = api_upload(client, token, sample_photos(DATASETS_DIR, 1)).get_json()
    stored = db.posts.find_one({"_id": ObjectId(post["id"])})
    with app.app_context():  # the stored rendition gets damaged after upload (a bad disk, say)
        fs = get_fs()
        large = stored["photos"][0]["files"]["large"]
        fs.delete(large)
        fs.put(BytesIO(b"\xff\xd8\xff\xe0 broken"), _id=large, content_type="image/jpeg")
    WorkerPool(app, threads=1, poll_seconds=0.2).start()
    job = wait_for(lambda: db.jobs.find_one({"payload.post_id": post["id"], "status": "failed"}))
    assert job["attempts"] == 1 and "cannot be decoded" in job["last_error"]  # no pointless retries
    body = client.get(f"/api/v1/posts/{post['id']}").get_json()
    assert body["enrichment"] == "failed" and body["status"] == "published"


def test_a_worker_killed_mid_job_loses_nothing(app, app_config, client, db):
    token = signed_up_tokens(client, "alice")["access_token"]
    post = api_upload(client, token, sample_photos(DATASETS_DIR, 1)).get_json()
    env = {**os.environ, "MONGODB_URI": app_config["MONGODB_URI"], "MONGODB_DB": app_config["MONGODB_DB"],
           "JOB_LEASE_SECONDS": "3"}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "worker", "--threads", "1"],
                              cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # It claims the job, then spends seconds loading the models: kill it in the middle.
        wait_for(lambda: db.jobs.find_one({"payload.post_id": post["id"], "status": "running"}))
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        worker.kill()
    assert db.posts.find_one({"_id": ObjectId(post["id"])})["enrichment"] == "pending"
    app.config["JOB_LEASE_SECONDS"] = 3
    WorkerPool(app, threads=1, poll_seconds=0.2).start()
    done = wait_for(lambda: db.jobs.find_one({"payload.post_id": post["id"], "status": "done"}), timeout=90)
    assert done["attempts"] == 2
    assert client.get(f"/api/v1/posts/{post['id']}").get_json()["enrichment"] == "done"


def test_flask_ml_describe_prints_one_json_line_per_photo(runner):
    photos = sample_photos(DATASETS_DIR, 2)
    result = runner.invoke(args=["ml", "describe", *map(str, photos)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [line["file"] for line in lines] == [str(path) for path in photos]
    for line in lines:
        assert set(line) == {"file", "caption", "tags", "nsfw", "timings_ms"}
        assert line["caption"].endswith(".") and all({"name", "score"} == set(tag) for tag in line["tags"])
