"""The post page's cost and its similar photos: the page sends few commands (similar photos come
after it, their ids remembered per process), and nothing a viewer may not see comes out of that memory."""

from bson import ObjectId
from helpers import DatabaseCommands, bearer, csrf_from, page_login, signed_up_tokens, with_appname
from pymongo import monitoring
from pytest import fixture, mark
from test_blocks import block, describe_alike, post_as

from app.core.statuses import PostStatus
from app.search.vectors import set_post_status

_log = DatabaseCommands()
monitoring.register(_log)  # for clients made from now on: the app's, below, is made for it


@fixture
def commands(app_config):
    # A URI of its own, so that the app gets a new client, made after the listener was registered.
    app_config["MONGODB_URI"] = with_appname(app_config["MONGODB_URI"], "post-page-commands")
    _log.database = app_config["MONGODB_DB"]
    yield _log
    _log.database = None


@fixture
def alike(commands, client, db):
    """alice's and carol's posts, each the other's most similar; bob is signed in to pages."""
    tokens = {name: signed_up_tokens(client, name)["access_token"] for name in ("alice", "bob", "carol")}
    alices = post_as(client, tokens["alice"], "alice at the lake")
    carols = post_as(client, tokens["carol"], "carol at the lake")
    describe_alike(db, alices, carols)
    pages = client.application.test_client()
    assert page_login(pages, "bob").status_code == 302
    return {"tokens": tokens, "alices": alices, "carols": carols, "bob_pages": pages}


def test_the_post_page_reads_the_post_once_and_leaves_similar_photos_and_empty_comments_out(client, alike, commands):
    carols, pages = alike["carols"], alike["bob_pages"]
    first, _ = commands.during(lambda: client.get(f"/p/{carols}"))
    assert first[("find", "posts")] >= 1  # the post, and the posts the change notes name
    assert not {"post_vectors", "comments"} & {collection for _, collection in first}  # no comments, the post says
    again, _ = commands.during(lambda: client.get(f"/p/{carols}"))
    assert ("find", "posts") not in again  # remembered until a change is noted
    signed_in, _ = commands.during(lambda: pages.get(f"/p/{carols}"))
    assert signed_in[("find", "likes")] == 1 and ("find", "posts") not in signed_in
    assert not {"post_vectors", "comments", "saves"} & {collection for _, collection in signed_in}  # bob saved nothing

    # once bob has saved a post, the page asks whether this one is among his saves
    bob = alike["tokens"]["bob"]
    assert client.put(f"/api/v1/posts/{alike['alices']}/save", headers=bearer(bob), json={}).status_code == 200
    with_a_save, _ = commands.during(lambda: pages.get(f"/p/{carols}"))
    assert with_a_save[("find", "saves")] == 1
    assert with_a_save[("find", "posts")] == 1  # bob just wrote: read afresh, not remembered

    # bob's own comment shows on his next request, and then the page reads comments
    pages.post(f"/p/{carols}/comments", data={"csrf_token": csrf_from(pages), "text": "lovely light"})
    with_comment, response = commands.during(lambda: pages.get(f"/p/{carols}"))
    assert with_comment[("find", "comments")] == 1 and "lovely light" in response.get_data(as_text=True)


def test_similar_photos_load_after_the_page_and_work_without_javascript(client, alike):
    alices, carols = alike["alices"], alike["carols"]
    page = client.get(f"/p/{carols}").get_data(as_text=True)
    assert f'href="/p/{carols}/similar"' in page and alices not in page
    fragment = client.get(f"/p/{carols}/similar?fragment=1").get_data(as_text=True)
    assert 'data-testid="similar"' in fragment and f"/p/{alices}" in fragment and "<html" not in fragment
    whole = client.get(f"/p/{carols}/similar").get_data(as_text=True)
    assert "<html" in whole and f"/p/{alices}" in whole and f'href="/p/{carols}"' in whole
    assert client.get(f"/p/{ObjectId()}/similar").status_code == 404


def test_a_repeat_view_of_similar_photos_runs_no_vector_search(client, alike, commands):
    alices, carols = alike["alices"], alike["carols"]
    first, _ = commands.during(lambda: client.get(f"/api/v1/posts/{carols}/similar"))
    assert first[("find", "post_vectors")] >= 1  # the post's vectors (and the search's first load)
    for path in (f"/api/v1/posts/{carols}/similar", f"/p/{carols}/similar?fragment=1"):
        again, response = commands.during(lambda path=path: client.get(path))
        assert ("find", "post_vectors") not in again, path
        assert alices in response.get_data(as_text=True), path


def hide(client, db, alike):
    set_post_status(db, ObjectId(alike["alices"]), PostStatus.HIDDEN)
    db.posts.update_one({"_id": ObjectId(alike["alices"])}, {"$set": {"status": PostStatus.HIDDEN}})


def delete(client, db, alike):
    assert client.delete(f"/api/v1/posts/{alike['alices']}", headers=bearer(alike["tokens"]["alice"])).status_code == 204


def block_bob(client, db, alike):
    block(client, alike["tokens"]["alice"], "bob")


def bob_blocks(client, db, alike):
    block(client, alike["tokens"]["bob"], "alice")


def go_private(client, db, alike):
    response = client.put("/api/v1/me/privacy", headers=bearer(alike["tokens"]["alice"]), json={"private": True})
    assert response.status_code == 200


@mark.parametrize("change", [hide, delete, block_bob, bob_blocks, go_private])
def test_a_remembered_similar_post_is_shown_to_no_one_it_may_no_longer_be_shown_to(client, db, alike, commands, change):
    alices, carols = alike["alices"], alike["carols"]
    bob, pages = bearer(alike["tokens"]["bob"]), alike["bob_pages"]
    api, fragment = f"/api/v1/posts/{carols}/similar", f"/p/{carols}/similar"
    assert alices in client.get(api, headers=bob).get_data(as_text=True)  # now remembered by this process
    assert alices in pages.get(fragment).get_data(as_text=True)
    change(client, db, alike)
    for view in (lambda: client.get(api, headers=bob), lambda: pages.get(fragment),
                 lambda: pages.get(fragment + "?fragment=1")):
        sent, response = commands.during(view)
        assert ("find", "post_vectors") not in sent  # the remembered ids were used
        assert response.status_code == 200 and alices not in response.get_data(as_text=True)
