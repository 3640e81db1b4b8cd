"""Demo data from real photos: users who follow each other, post, like and comment."""
import random
from collections.abc import Callable
from pathlib import Path

import gridfs

from app.auth.services import create_user, find_user_by_username
from app.core.db import MongoDatabase
from app.core.errors import ValidationError
from app.media.images import process_upload
from app.posts.importer import photo_files
from app.posts.services import UploadLimits, create_post, enqueue_enrichment
from app.social import services as social

# Demo accounts, printed to whoever seeds.
DEMO_PASSWORD = "glimpse-demo-password"  # nosec B105


def flickr_captions(photos_dir: Path) -> dict[str, str]:
    """First human caption of each Flickr8k photo, when the token file sits beside the photos."""
    token_file = photos_dir.parent / "flickr8k" / "Flickr8k.token.txt"
    captions: dict[str, str] = {}
    if token_file.exists():
        for line in token_file.read_text().splitlines():
            name, _, caption = line.partition("\t")
            captions.setdefault(name.split("#")[0], caption.strip().rstrip(" .").capitalize() + ".")
    return captions


def seed(db: MongoDatabase, fs: gridfs.GridFS, *, photos_dir: Path, users: int, posts: int, limits: UploadLimits, rounds: int,
         on_post: Callable[[], object] = lambda: None, seed_value: int = 8) -> dict:
    if not photos_dir.is_dir() or not (paths := photo_files(photos_dir)):
        raise ValidationError(f"No photos found in {photos_dir}: seeding needs real photos "
                              "(the project's ../shared/datasets/photos, or pass --photos DIR).")
    # Reproducible demo data, not security.
    chance = random.Random(seed_value)  # nosec B311
    accounts = []
    for number in range(users):
        username = f"demo{number:03d}"
        accounts.append(find_user_by_username(db, username) or create_user(
            db, username=username, email=f"{username}@example.com", password=DEMO_PASSWORD, rounds=rounds,
            email_verified=True))  # demo accounts post and follow at once
    for account in accounts:
        for other in chance.sample(accounts, min(len(accounts), 8)):
            if other["_id"] != account["_id"]:
                social.follow(db, account, other)
    captions = flickr_captions(photos_dir)
    processed = {}  # each distinct photo is checked and resized once, then shared by the posts using it
    created = []
    for number in range(posts):
        path = paths[number % len(paths)]
        if path not in processed:
            processed[path] = process_upload(path.read_bytes(), max_bytes=limits.max_bytes, max_pixels=limits.max_pixels)
        post = create_post(db, fs, author=chance.choice(accounts), photos=[processed[path]],
                           caption=captions.get(path.name, ""))
        enqueue_enrichment(db, post)
        created.append(post)
        on_post()
    for post in created:
        for liker in chance.sample(accounts, chance.randint(0, min(len(accounts), 6))):
            social.like(db, liker, post)
    return {"users": len(accounts), "posts": len(created), "password": DEMO_PASSWORD}
