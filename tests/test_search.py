"""Search, similar photos and "for you" over real photos described by the real models."""
import json
import os
import signal
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from bson import ObjectId
from bson.binary import Binary, BinaryVectorDtype
from conftest import DATASETS_DIR
from helpers import api_upload, bearer, free_port, http, sample_photos, signed_up_tokens, start_server, wait_until
from pymongo import MongoClient
from pymongo.errors import PyMongoError
from threadpoolctl import threadpool_info

from app import create_app
from app.core import embedded_mongo
from app.core.db import client_for, mongodb_uri
from app.search import get_vector_search, warm_up
from app.search.backends import ATLAS_INDEX_NAME, AtlasVectorSearch, EmbeddedVectorSearch
from app.search.embedder import get_text_embedder
from app.search.service import search_posts
from app.search.vectors import (
    TYPICAL_HUBNESS,
    VECTOR_FIELDS,
    delete_post_vectors,
    from_bson_vector,
    save_post_vectors,
    set_post_status,
    to_bson_vector,
)

PHOTO_COUNT = 8


@pytest.fixture
def described(client, db, workers):
    """Alice's posts of real photos, each described by the models; returns (token, posts)."""
    token = signed_up_tokens(client, "alice")["access_token"]
    photos = sample_photos(DATASETS_DIR, PHOTO_COUNT)
    ids = [api_upload(client, token, [photo], caption=f"photo {number} #set{number}").get_json()["id"]
           for number, photo in enumerate(photos)]
    wait_until(lambda: db.posts.count_documents({"enrichment": "done"}) == len(ids), timeout=90, interval=0.2)
    return token, [client.get(f"/api/v1/posts/{post_id}").get_json() for post_id in ids]


def distinctly_described(posts: list[dict]) -> list[dict]:
    """Posts no other post shares a description with: only those can be told apart by it."""
    unique = [post for post in posts if sum(other["alt_text"] == post["alt_text"] for other in posts) == 1]
    assert unique, "the captioner gave every photo the same description"
    return unique


def search(client, query, token=None, **params):
    response = client.get("/api/v1/search", query_string={"q": query, **params},
                          headers=bearer(token) if token else {})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_description_finds_its_photo_first(client, described):
    _, posts = described
    for target in distinctly_described(posts)[:3]:
        body = search(client, target["alt_text"])
        assert body["results"][0]["id"] == target["id"], target["alt_text"]
        assert all(0 < result["score"] <= 1 for result in body["results"])


def test_a_paraphrase_finds_photos_by_meaning(client, described):
    _, posts = described
    target = next(post for post in distinctly_described(posts) if post["tags"])
    words = target["alt_text"].lower().rstrip(".").split()
    paraphrase = " ".join(word for word in words if word not in {"a", "an", "the", "is", "are", "in", "of", "on"})
    assert target["id"] in [result["id"] for result in search(client, paraphrase)["results"][:3]]


def test_hashtags_tags_and_usernames_match_as_keywords(client, described):
    _, posts = described
    assert search(client, "#set3")["results"][0]["id"] == posts[3]["id"]
    by_author = search(client, "@alice", limit=50)["results"]
    assert {result["id"] for result in posts} <= {result["id"] for result in by_author}
    tag = posts[0]["tags"][0]["name"]
    assert posts[0]["id"] in [result["id"] for result in search(client, tag, limit=50)["results"]]


def test_search_pages_with_cursors(client, described):
    first = search(client, "@alice", limit=3)
    second = search(client, "@alice", limit=3, cursor=first["next_cursor"])
    assert first["next_cursor"] and not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    assert client.get("/api/v1/search").status_code == 422


def test_hidden_and_deleted_posts_never_appear_not_even_for_a_moment(app, client, db, described):
    token, posts = described
    hidden = distinctly_described(posts)[0]
    deleted = next(post for post in posts if post["id"] != hidden["id"])
    assert search(client, hidden["alt_text"])["results"][0]["id"] == hidden["id"]
    db.posts.update_one({"_id": ObjectId(hidden["id"])}, {"$set": {"status": "pending"}})
    set_post_status(db, ObjectId(hidden["id"]), "pending")
    assert client.delete(f"/api/v1/posts/{deleted['id']}", headers=bearer(token)).status_code == 204
    for query in (hidden["alt_text"], deleted["alt_text"], "@alice", "#" + hidden["hashtags"][0], "#" + deleted["hashtags"][0]):
        ids = [result["id"] for result in search(client, query, limit=50)["results"]]
        assert hidden["id"] not in ids and deleted["id"] not in ids, query


def test_another_process_sees_writes_and_deletes_within_a_second(db):
    other_process = EmbeddedVectorSearch(db)
    assert other_process.search("text", np.ones(384), limit=5) == []
    post = {"_id": ObjectId(), "author_id": ObjectId(), "status": "published", "created_at": None}
    vector = np.random.default_rng(1).normal(size=384)
    save_post_vectors(db, post, {"text": vector.tolist()}, {})
    time.sleep(0.6)
    hits = other_process.search("text", vector, limit=5)
    assert hits[0][0] == post["_id"] and hits[0][1] == pytest.approx(1.0, abs=1e-4)  # Atlas scale: identical = 1
    opposite = other_process.search("text", -vector, limit=5)
    assert opposite[0][1] == pytest.approx(0.0, abs=1e-4)
    delete_post_vectors(db, post["_id"])
    time.sleep(0.6)
    assert other_process.search("text", vector, limit=5) == []


def test_the_embedded_backend_counts_vectors_stored_without_hubness_as_typical(db):
    vector = np.random.default_rng(5).normal(size=384)
    vector /= np.linalg.norm(vector)
    measured = {"_id": ObjectId(), "author_id": ObjectId(), "status": "published", "created_at": None}
    earlier = {**measured, "_id": ObjectId()}
    save_post_vectors(db, measured, {"visual_text": vector.tolist()}, {}, hubness={"visual_text": 0.2})
    save_post_vectors(db, earlier, {"visual_text": vector.tolist()}, {})
    scores = dict(EmbeddedVectorSearch(db).search("visual_text", vector, limit=2, hubness_weight=0.5))
    assert scores[measured["_id"]] == pytest.approx((2 - 0.5 * 0.2) / 2, abs=1e-5)
    assert scores[earlier["_id"]] == pytest.approx((2 - 0.5 * TYPICAL_HUBNESS) / 2, abs=1e-5)


def test_stored_vectors_read_back_exactly():
    values = np.random.default_rng(4).normal(size=384).astype(np.float32)
    assert np.array_equal(from_bson_vector(to_bson_vector(values)), values)
    assert from_bson_vector(Binary.from_vector([1, -2, 3], BinaryVectorDtype.INT8)).tolist() == [1.0, -2.0, 3.0]


def test_a_failed_load_leaves_nothing_half_loaded(db):
    post = {"_id": ObjectId(), "author_id": ObjectId(), "status": "published", "created_at": None}
    vector = np.random.default_rng(2).normal(size=384)
    save_post_vectors(db, post, {"text": vector.tolist()}, {})
    unreachable = MongoClient("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200&directConnection=true")
    backend = EmbeddedVectorSearch(unreachable[db.name])
    with pytest.raises(PyMongoError):
        backend.preload()
    assert backend.state == "not_loaded"
    backend.db = db  # the database is back: the next search loads everything
    assert backend.search("text", vector, limit=1)[0][0] == post["_id"]
    assert backend.state == "ready"


def test_a_served_worker_loads_search_as_it_starts(app_config):
    """Under gunicorn each worker loads the query embedder and the vectors as it starts, so no
    user's search waits for them: /healthz says "ready" though nobody has searched."""
    port = free_port()
    server = start_server(app_config, port)
    answers = []

    def every_worker_ready():
        # Fresh connections land on either of the two workers; ten readies in a row cover both.
        answers.append(http("GET", f"http://127.0.0.1:{port}/healthz")[1]["search"])
        return answers[-10:] == ["ready"] * 10

    try:
        wait_until(every_worker_ready, timeout=60, interval=0.1)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


def test_warm_up_readies_search_of_an_app_that_starts_its_own_database(app_config, tmp_path):
    # With no MONGODB_URI the database address is only known once the app has started the server.
    data_dir = tmp_path / "owned"
    app = create_app({**app_config, "MONGODB_URI": "", "GLIMPSE_DATA_DIR": str(data_dir)})
    try:
        warm_up(app)
        assert app.test_client().get("/healthz").get_json()["search"] == "ready"
    finally:
        embedded_mongo.stop_server(data_dir)


def test_similar_photos_exclude_the_post_itself(client, described):
    _, posts = described
    similar = client.get(f"/api/v1/posts/{posts[0]['id']}/similar").get_json()["results"]
    ids = [result["id"] for result in similar]
    assert ids and posts[0]["id"] not in ids and set(ids) <= {post["id"] for post in posts}
    page = client.get(f"/p/{posts[0]['id']}/similar").get_data(as_text=True)
    assert 'data-testid="similar"' in page


def test_for_you_starts_as_explore_and_follows_likes(client, described):
    _, posts = described
    bob = signed_up_tokens(client, "bob")["access_token"]
    before = client.get("/api/v1/for-you", headers=bearer(bob), query_string={"limit": 50}).get_json()["results"]
    assert {post["id"] for post in before} == {post["id"] for post in posts}  # explore, for a new user
    liked = posts[2]
    client.put(f"/api/v1/posts/{liked['id']}/like", headers=bearer(bob))
    after = client.get("/api/v1/for-you", headers=bearer(bob), query_string={"limit": 50}).get_json()["results"]
    after_ids = [post["id"] for post in after]
    assert liked["id"] not in after_ids and after_ids != [post["id"] for post in before]
    nearest = client.get(f"/api/v1/posts/{liked['id']}/similar").get_json()["results"]
    assert after_ids[0] in [post["id"] for post in nearest[:3]]
    own = client.get("/api/v1/for-you", headers=bearer(described[0])).get_json()["results"]
    assert own == []  # alice sees none of her own posts


def test_atlas_index_definition_is_what_atlas_documents():
    model = AtlasVectorSearch.index_model().document
    assert model["name"] == ATLAS_INDEX_NAME and model["type"] == "vectorSearch"
    fields = model["definition"]["fields"]
    vectors = {field["path"]: field for field in fields if field["type"] == "vector"}
    assert set(vectors) == set(VECTOR_FIELDS)
    for path, field in vectors.items():
        assert field == {"type": "vector", "path": path, "numDimensions": VECTOR_FIELDS[path], "similarity": "cosine"}
    assert {field["path"] for field in fields if field["type"] == "filter"} == {"status", "author_id"}


def test_atlas_pipeline_is_what_atlas_documents():
    author = ObjectId()
    pipeline = AtlasVectorSearch.pipeline("text", np.arange(384, dtype=np.float32), limit=10, exclude_author=author)
    stage = pipeline[0]["$vectorSearch"]
    assert set(stage) == {"index", "path", "queryVector", "numCandidates", "limit", "filter"}
    assert stage["index"] == ATLAS_INDEX_NAME and stage["path"] == "text" and stage["limit"] == 10
    assert stage["numCandidates"] >= 20 * stage["limit"]
    assert len(stage["queryVector"]) == 384 and all(isinstance(value, float) for value in stage["queryVector"])
    assert stage["filter"] == {"$and": [{"status": {"$eq": "published"}}, {"author_id": {"$ne": author}}]}
    assert pipeline[1] == {"$project": {"_id": 1, "score": {"$meta": "vectorSearchScore"}}}


def test_atlas_pipeline_holds_back_hubs_by_their_stored_hubness():
    pipeline = AtlasVectorSearch.pipeline("visual_text", np.ones(384, dtype=np.float32), limit=10, hubness_weight=0.5)
    stage = pipeline[0]["$vectorSearch"]
    assert stage["limit"] > 10 and stage["numCandidates"] >= 20 * stage["limit"]  # room to re-rank
    # Atlas's score is (1 + cosine) / 2: half the weighted hubness comes off it; posts stored
    # before hubness was measured count as typical.
    assert pipeline[1] == {"$project": {"_id": 1, "score": {"$subtract": [
        {"$meta": "vectorSearchScore"}, {"$multiply": [0.25, {"$ifNull": ["$visual_text_hubness", TYPICAL_HUBNESS]}]}]}}}
    assert pipeline[2:] == [{"$sort": {"score": -1}}, {"$limit": 10}]
    assert AtlasVectorSearch.pipeline("text", np.ones(384), limit=10, hubness_weight=0.5) == \
        AtlasVectorSearch.pipeline("text", np.ones(384), limit=10)  # only the photo projection has a hubness


def test_the_embedded_server_gets_the_embedded_backend(app, db):
    with app.app_context():
        assert get_vector_search().name == "embedded"


def test_vector_search_runs_on_ml_threads_blas_threads(app_config):
    """numpy's BLAS defaults to a thread per core: the in-process search keeps to ML_THREADS."""
    app_config["ML_THREADS"] = 1
    with create_app(app_config).app_context():
        get_vector_search()
    assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == [1]


@pytest.mark.parametrize("own_database", [False, True], ids=["given MONGODB_URI", "embedded server it starts"])
def test_evaluate_search_through_app_uploads_describes_and_searches_real_photos(app_config, tmp_path, own_database):
    flickr = DATASETS_DIR / "flickr8k"
    config = {**app_config, "MONGODB_URI": "", "GLIMPSE_DATA_DIR": str(tmp_path)} if own_database else app_config
    app = create_app(config)
    try:
        result = app.test_cli_runner().invoke(
            args=["ml", "evaluate-search", "--through-app", "--limit", "4", "--data", str(flickr)])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["photos"] == 4 and report["described"] == 4
        # Four posts: each one's caption must bring it into the top ten, whatever the ranking.
        assert 0 <= report["r@1"] <= report["r@5"] <= report["r@10"] == 1.0
        assert 0 < report["search_p50_ms"] <= report["search_p95_ms"]
        assert report["keywords"]["word_queries"] > 0 and 0 <= report["keywords"]["word_precision@10"] <= 1
        assert report["keywords"]["hashtag_queries"] > 0 and 0 <= report["keywords"]["hashtag_precision"] <= 1
        assert report["nsfw"]["threshold"] == app.config["NSFW_HOLD_THRESHOLD"]
        assert 0 <= report["nsfw"]["false_positive_rate"] <= 1
        assert report["database"] not in client_for(mongodb_uri(app.config)).list_database_names()  # dropped
    finally:
        if own_database:
            embedded_mongo.stop_server(tmp_path)


def vector_at(query: np.ndarray, cosine: float, seed: int) -> list[float]:
    """A unit vector at exactly `cosine` to the (unit) query."""
    other = np.random.default_rng(seed).normal(size=query.shape)
    other -= (other @ query) * query
    other /= np.linalg.norm(other)
    return (cosine * query + np.sqrt(1 - cosine ** 2) * other).tolist()


def post_with_vectors(db, query_vector, *, visual: float, text: float, seed: int, hubness: float | None = None,
                      hashtags=(), tags=(), author_id=None) -> ObjectId:
    """A published post whose photo projection and description lie at the given cosines to the query."""
    post = {"_id": ObjectId(), "author_id": author_id or ObjectId(), "status": "published", "created_at": datetime.now(UTC),
            "hashtags": list(hashtags), "tag_names": list(tags)}
    db.posts.insert_one(post)
    save_post_vectors(db, post, {"visual_text": vector_at(query_vector, visual, seed),
                                 "text": vector_at(query_vector, text, seed + 1)}, {}, hubness={"visual_text": hubness})
    return post["_id"]


def ranked_ids(app, db, query: str) -> list[ObjectId]:
    with app.app_context():
        found, _ = search_posts(db, EmbeddedVectorSearch(db), get_text_embedder(), query, None, None, 10)
    return [post["_id"] for post, _ in found]


def test_the_best_match_is_found_however_faint_its_likeness(app, db):
    # No similarity cut-off: on dev, right photos score as low as this (cosine 0.2 to the query)
    # while unrelated photos score as high for other queries, so a cut-off only drops right photos.
    query = "a brown dog runs along the beach"
    with app.app_context():
        vector = get_text_embedder().embed([query])[0]
    best = post_with_vectors(db, vector, visual=0.08, text=0.2, seed=1)
    others = [post_with_vectors(db, vector, visual=-0.1, text=0.0, seed=10 + n) for n in range(3)]
    found = ranked_ids(app, db, query)
    assert found[0] == best and set(found) == {best, *others}


def test_a_description_holds_back_photos_close_to_every_description_a_word_does_not(app, db):
    description, word = "a dog jumps to catch a ball", "dog"
    with app.app_context():
        description_vector, word_vector = get_text_embedder().embed([description, word])
    hub = post_with_vectors(db, description_vector, visual=0.40, text=0.3, seed=1, hubness=0.45)
    specific = post_with_vectors(db, description_vector, visual=0.35, text=0.3, seed=3, hubness=0.25)
    assert ranked_ids(app, db, description)[:2] == [specific, hub]
    db.post_vectors.delete_many({})
    db.posts.delete_many({})
    hub = post_with_vectors(db, word_vector, visual=0.40, text=0.3, seed=1, hubness=0.45)
    specific = post_with_vectors(db, word_vector, visual=0.35, text=0.3, seed=3, hubness=0.25)
    assert ranked_ids(app, db, word)[:2] == [hub, specific]


def test_a_hashtag_finds_its_posts_before_any_photo_that_merely_looks_the_part(app, db):
    with app.app_context():
        vector = get_text_embedder().embed(["#beach"])[0]
    lookalike = post_with_vectors(db, vector, visual=0.9, text=0.95, seed=1, tags=["beach", "sand"])
    tagged = post_with_vectors(db, vector, visual=0.0, text=0.05, seed=3, hashtags=["beach"])
    assert ranked_ids(app, db, "#beach")[:2] == [tagged, lookalike]
    assert ranked_ids(app, db, "beach")[:2] == [tagged, lookalike]  # the author's word, with or without its #


def test_a_hashtag_means_hashtags_a_mention_means_the_author_a_plain_word_either(app, db):
    author = db.users.insert_one({"username": "sunset", "username_lower": "sunset"}).inserted_id
    with app.app_context():
        vector = get_text_embedder().embed(["sunset"])[0]
    by_sunset = post_with_vectors(db, vector, visual=0.6, text=0.6, seed=1, author_id=author)
    tagged = post_with_vectors(db, vector, visual=0.1, text=0.1, seed=3, hashtags=["sunset"])
    assert ranked_ids(app, db, "#sunset")[0] == tagged
    assert ranked_ids(app, db, "@sunset")[0] == by_sunset
    assert set(ranked_ids(app, db, "sunset")[:2]) == {by_sunset, tagged}
