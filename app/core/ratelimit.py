"""Rate-limit counters kept in MongoDB, so every process of the app shares the counts.

A bucket (a scope and a subject: an address, an account) counts within a window that starts at its
first count and lasts `window_seconds`; then it starts again from zero. A counter whose window has
passed counts as zero even before the TTL index removes it.
"""
import hashlib
import ipaddress
from datetime import datetime, timedelta
from typing import cast

from flask import current_app
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from app.core.clock import utc_now
from app.core.db import Document, get_db
from app.core.errors import RateLimitedError

# IPv6 hands each subscriber a /64 at least: counting single addresses there would give one
# client billions of buckets.
IPV6_CLIENT_PREFIX = 64


def client_subject(address: str | None) -> str:
    """The part of a client address that one client controls: an IPv4 address or an IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "-"
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/{IPV6_CLIENT_PREFIX}", strict=False))


def _key(scope: str, subject: str) -> str:
    # Hash the subject: addresses and emails need not sit in the database in clear.
    return f"{scope}:{hashlib.sha256(subject.lower().encode()).hexdigest()[:32]}"


def _enabled() -> bool:
    return current_app.config["RATELIMIT_ENABLED"]


def counted(scope: str, subject: str) -> tuple[int, int]:
    """How often this bucket has counted in its current window, and the seconds left of that window;
    counts nothing."""
    if not _enabled():
        return 0, 0
    now = utc_now()
    counter = get_db().rate_limits.find_one({"_id": _key(scope, subject), "expires_at": {"$gt": now}})
    if counter is None:
        return 0, 0
    return counter["count"], _seconds_left(counter, now)


def count_one(scope: str, subject: str, *, window_seconds: int) -> tuple[int, int]:
    """Count one in this bucket (starting a window if none is running); its new count and the
    seconds left of its window."""
    if not _enabled():
        return 0, 0
    counters, key = get_db().rate_limits, _key(scope, subject)
    for _ in range(3):  # racing first counts: the losers find the winner's window and add to it
        now = utc_now()
        counter = counters.find_one_and_update(
            {"_id": key, "expires_at": {"$gt": now}}, {"$inc": {"count": 1}}, return_document=ReturnDocument.AFTER)
        if counter is None:
            try:  # a new window, over a passed one the TTL monitor has not removed yet
                counter = cast(Document, counters.find_one_and_update(  # an upsert always returns one
                    {"_id": key, "expires_at": {"$lte": now}},
                    {"$set": {"count": 1, "expires_at": now + timedelta(seconds=window_seconds)}},
                    upsert=True, return_document=ReturnDocument.AFTER))
            except DuplicateKeyError:
                continue
        return counter["count"], _seconds_left(counter, now)
    raise RateLimitedError("Too many attempts at once. Please try again.", retry_after=1)


def refuse(retry_after: int) -> None:
    raise RateLimitedError("Too many attempts. Please wait a little and try again.", retry_after=max(1, retry_after))


def hit(scope: str, subject: str, *, limit: int, window_seconds: int) -> None:
    """Count one attempt in this bucket; refuse it when the window's count goes over `limit`."""
    count, seconds_left = count_one(scope, subject, window_seconds=window_seconds)
    if count > limit:
        refuse(seconds_left)


def _seconds_left(counter: Document, now: datetime) -> int:
    return int((counter["expires_at"] - now).total_seconds() + 0.999)
