"""The states a post or an account can be in: stored in the database, shown by the API and the
pages, and listed in the OpenAPI document from here, so none of them can drift."""
from enum import StrEnum


class PostStatus(StrEnum):
    PUBLISHED = "published"  # everyone sees it
    PENDING = "pending"  # posted anonymously, waiting for a moderator
    HELD = "held"  # its NSFW score held it back for review
    HIDDEN = "hidden"  # enough reports hid it until a moderator looks
    REJECTED = "rejected"  # a moderator refused it: a tombstone without photos
    DELETING = "deleting"  # its author's account is being deleted: gone for everyone, soon for good


AWAITING_REVIEW = (PostStatus.PENDING, PostStatus.HELD, PostStatus.HIDDEN)


class UserStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # cannot sign in; every token it held stopped working
    DELETING = "deleting"  # its owner deleted it: as suspended, until the deletion job removes it
