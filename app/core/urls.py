"""Where it is safe to send a visitor after a form."""
from urllib.parse import urlsplit


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: never another host, `//host`, `/\\host` or a javascript: URL."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(char) < 32 for char in target):
        return default
    return target
