"""The signed-in home feed page: 20 posts a page, the next ones by its cursor."""
import re
from datetime import timedelta

from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import api_upload, page_login, sample_photos, signed_up_tokens


def test_the_signed_in_home_feed_shows_20_posts_a_page(app, client, db):
    token = signed_up_tokens(client, "alice")["access_token"]
    assert api_upload(client, token, sample_photos(DATASETS_DIR, 1), "the first").status_code == 201
    first = db.posts.find_one()
    # 22 more of alice's posts, each a minute later: copies of the stored one, under their own ids.
    db.posts.insert_many([{**first, "_id": ObjectId(), "caption": f"later {number}",
                           "created_at": first["created_at"] + timedelta(minutes=number + 1)} for number in range(22)])
    pages = app.test_client()
    assert page_login(pages, "alice").status_code == 302
    page = pages.get("/").get_data(as_text=True)
    assert page.count('data-testid="post-card"') == 20 and "later 21" in page and "later 1<" not in page
    cursor = re.search(r'data-next-page href="\?cursor=([^"]+)"', page).group(1)
    rest = pages.get(f"/?cursor={cursor}&fragment=1").get_data(as_text=True)
    assert rest.count('data-testid="post-card"') == 3 and "the first" in rest
