"""Post cards, rendered once per process for each stored revision of a post and each way viewers
differ on it (signed in or not, liked or not): rendering twenty cards was half of a signed-in feed
page's web time. A card shows nothing else about the viewer but their CSRF token, in the like
form: it is kept in the pieces around that token, which each page joins with its viewer's own
(app/core/csrf.py's placeholder marks where it goes). A post changed in memory (not as stored) is
rendered afresh."""
from flask import g, get_template_attribute, request
from markupsafe import Markup

from app.core import csrf
from app.core.recent import Recent
from app.social.presenter import PresentedPost

REMEMBERED_CARDS = 10_000  # ~2 kB each

# (post id, revision, script root, signed in, liked) -> the card's HTML, split where the token goes
_cards: Recent[tuple, list[str]] = Recent(REMEMBERED_CARDS)


def post_card(post: dict) -> Markup:
    render = get_template_attribute("feeds/_post_card.html", "post_card")
    stored_as = post.stored_as if isinstance(post, PresentedPost) else None
    if stored_as is None:
        return Markup(render(post))
    key = (*stored_as, request.script_root, g.user is not None, bool(post.get("liked_by_me")))
    pieces = _cards.get(key)
    if pieces is None:
        with csrf.token_placeholder() as placeholder:
            pieces = str(render(post)).split(placeholder)
        _cards.put(key, pieces)
    return Markup(csrf.csrf_token().join(pieces) if len(pieces) > 1 else pieces[0])  # noqa: S704  (our own template's output)
