"""The time, as MongoDB will store it."""
from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, to the millisecond: BSON dates keep no more, so what we answer equals what we read back."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
