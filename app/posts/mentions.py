"""@username mentions in captions and comments: which accounts a text names, and the text with each
of them linked to its profile (everything else escaped).

A text's mentions are found once, when it is written, among the active accounts: the first
MAX_MENTIONS distinct names that belong to one. Those are linked and notified (app/social/services.py
notify_mentions); more are left as plain text, so one caption cannot flood a crowd with notifications.
"""
import re

from flask import url_for
from markupsafe import Markup, escape

from app.core.db import MongoDatabase
from app.core.statuses import UserStatus

# The username rule of sign-up (app/auth/services.py); not after a letter, digit, _ or @, so an
# email address such as bob@example.com mentions nobody.
MENTION_PATTERN = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,30})(?![\w@])")
MAX_MENTIONS = 10
MENTION_LINK = Markup('<a href="{href}" class="text-indigo-600 hover:underline dark:text-indigo-400" '
                      'data-mention>@{written}</a>')


def mentioned_usernames(db: MongoDatabase, text: str) -> list[str]:
    """The usernames (as their owners spell them) of the first MAX_MENTIONS active accounts `text` names."""
    named = list(dict.fromkeys(name.lower() for name in MENTION_PATTERN.findall(text or "")))
    if not named:
        return []
    found = {user["username_lower"]: user["username"] for user in db.users.find(
        {"username_lower": {"$in": named}, "status": UserStatus.ACTIVE}, {"username": 1, "username_lower": 1})}
    return [found[name] for name in named if name in found][:MAX_MENTIONS]


def with_mention_links(text: str, mentions: list[str]) -> Markup:
    """`text`, escaped, with each of its `mentions` a link to the profile (Markup.format escapes too)."""
    known = {name.lower(): name for name in mentions}
    text, parts, plain_from = text or "", [], 0
    for match in MENTION_PATTERN.finditer(text):
        if (username := known.get(match.group(1).lower())) is None:
            continue
        parts += [escape(text[plain_from:match.start()]),
                  MENTION_LINK.format(href=url_for("main.profile", username=username), written=match.group(1))]
        plain_from = match.end()
    parts.append(escape(text[plain_from:]))
    return Markup("").join(parts)
