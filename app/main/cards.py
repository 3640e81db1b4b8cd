"""Post cards, rendered once per process for each stored revision of a post and each way viewers
differ on it (signed in or not, liked or not): rendering twenty cards was half of a signed-in feed
page's web time. A card shows nothing else about the viewer but their CSRF token, in the like
form: it is kept in the pieces around that token, which each page joins with its viewer's own
(app/core/csrf.py's placeholder marks where it goes). A post changed in memory (not as stored) is
rendered afresh."""
from flask import g, get_template_attribute, request
from markupsafe import Markup, escape

from app.core import csrf
from app.core.recent import Recent
from app.social.presenter import PresentedPost

REMEMBERED_CARDS = 10_000  # ~2 kB each

# (post id, revision, script root, signed in, liked) -> the card's HTML, split where the token goes
_cards: Recent[tuple, list[str]] = Recent(REMEMBERED_CARDS)


def _rendered(post: dict) -> Markup:
    card: Markup = get_template_attribute("feeds/_post_card.html", "post_card")(post)
    return card


def post_card(post: dict) -> Markup:
    stored_as = post.stored_as if isinstance(post, PresentedPost) else None
    if stored_as is None:
        return _rendered(post)
    key = (*stored_as, request.script_root, g.user is not None, bool(post.get("liked_by_me")))
    pieces = _cards.get(key)
    if pieces is None:  # only then is the template looked up (a kept card needs none of it)
        with csrf.token_placeholder() as placeholder:
            pieces = str(_rendered(post)).split(placeholder)
        _cards.put(key, pieces)
    # The pieces are the template's own escaped output; the token is escaped as the template would.
    return Markup(str(escape(csrf.csrf_token())).join(pieces))  # noqa: S704  # nosec B704
