"""Configuration, read from environment variables only (see README, "Configuration")."""
import os
import secrets
from pathlib import Path

# The checkout: templates/, static/ and the shared datasets beside it are found from here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _persistent_secret(data_dir: Path) -> str:
    """A development secret kept in the data folder so restarts keep everyone logged in."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


def config_from_env() -> dict:
    data_dir = Path(os.environ.get("GLIMPSE_DATA_DIR", "instance")).resolve()
    secret = os.environ.get("SECRET_KEY") or _persistent_secret(data_dir)
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    return {
        "SECRET_KEY": secret,
        "GLIMPSE_DATA_DIR": str(data_dir),
        "BASE_URL": base_url,
        # An empty MONGODB_URI means: start (or join) the embedded server in GLIMPSE_DATA_DIR.
        "MONGODB_URI": os.environ.get("MONGODB_URI", ""),
        "MONGODB_DB": os.environ.get("MONGODB_DB", "glimpse"),
        "BCRYPT_ROUNDS": _int("BCRYPT_ROUNDS", 12),
        "RATELIMIT_ENABLED": _flag("RATELIMIT_ENABLED", True),
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "JOB_WORKERS": _int("JOB_WORKERS", 2),
        "ML_THREADS": _int("ML_THREADS", 1),
        "ML_WEIGHTS_DIR": os.environ.get("ML_WEIGHTS_DIR") or None,  # None: the weights shipped in ml_models/
        "JOB_BACKOFF_SECONDS": float(os.environ.get("JOB_BACKOFF_SECONDS") or 2.0),
        # How long a worker owns a claimed job; after that, another worker takes it over.
        "JOB_LEASE_SECONDS": _int("JOB_LEASE_SECONDS", 120),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL", False),
        # Flask-Mail would otherwise drop every mail whenever TESTING is on; ours go to a real server.
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "Glimpse <no-reply@glimpse.local>"),
        "COOKIE_SECURE": _flag("COOKIE_SECURE", base_url.startswith("https://")),
        "WEB_SESSION_DAYS": _int("WEB_SESSION_DAYS", 14),
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_MB", 100) * 1024 * 1024,
        "ANONYMOUS_POSTS": _flag("ANONYMOUS_POSTS", True),
        "ANONYMOUS_MAX_BYTES": _int("ANONYMOUS_MAX_MB", 10) * 1024 * 1024,
        # Posts scoring above this wait for a moderator instead of being published.
        "NSFW_HOLD_THRESHOLD": _float("NSFW_HOLD_THRESHOLD", 0.8),
        # Independent reports after which a post or comment hides until a moderator decides.
        "REPORTS_TO_HIDE": _int("REPORTS_TO_HIDE", 3),
        "IMAGE_CACHE_MB": _int("IMAGE_CACHE_MB", 64),  # per process, for thumbnails and large renditions
        # How long a process serves a published post's photos without looking the post up again
        # (so how long a deleted or hidden post's photo URLs may still answer); 0 looks up every time.
        "PHOTO_LOOKUP_SECONDS": _float("PHOTO_LOOKUP_SECONDS", 2),
        "PHOTO_MAX_BYTES": _int("PHOTO_MAX_MB", 25) * 1024 * 1024,
        "PHOTO_MAX_PIXELS": _int("PHOTO_MAX_MEGAPIXELS", 50) * 1_000_000,
    }
