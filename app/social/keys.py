"""The _ids of likes, follows, saves, blocks and mutes: what makes each unique ("post:user" ...).

The _id itself then enforces one of each. A unique compound index over ObjectIds would do the
same on Atlas, but on the embedded server it makes every insert scan the whole collection.
"""
from bson import ObjectId


def like_key(post_id: ObjectId, user_id: ObjectId) -> str:
    return f"{post_id}:{user_id}"


def follow_key(follower_id: ObjectId, followee_id: ObjectId) -> str:
    return f"{follower_id}:{followee_id}"


def save_key(user_id: ObjectId, post_id: ObjectId, collection: str) -> str:
    return f"{user_id}:{post_id}:{collection}"


def relation_key(owner_id: ObjectId, other_id: ObjectId) -> str:
    """One user's block or mute of another."""
    return f"{owner_id}:{other_id}"
