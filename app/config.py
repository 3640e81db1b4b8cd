"""Configuration, read from environment variables only (see README, "Configuration")."""
import configparser
import ipaddress
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# The checkout: templates/, static/ and the shared datasets beside it are found from here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def datasets_dir() -> Path:
    """The shared datasets (real photos, Flickr8k) the tests, the bench, `flask seed` and training
    read: GLIMPSE_DATASETS_DIR; else `../shared/datasets` beside this checkout; else beside the local
    checkout this one was cloned from (a fresh clone in a temporary folder finds its origin's)."""
    if named := os.environ.get("GLIMPSE_DATASETS_DIR"):
        return Path(named)
    beside = PROJECT_ROOT.parent / "shared" / "datasets"
    origin = _origin_checkout()
    if beside.is_dir() or origin is None or not (origin.parent / "shared" / "datasets").is_dir():
        return beside
    return origin.parent / "shared" / "datasets"


def _origin_checkout() -> Path | None:
    """The folder `git clone` copied this checkout from, when that was a folder on this machine."""
    git_config = configparser.ConfigParser(strict=False)
    try:
        git_config.read(PROJECT_ROOT / ".git" / "config")
        url = git_config.get('remote "origin"', "url", fallback="")
    except configparser.Error:
        return None
    origin = Path(url.removeprefix("file://"))
    return origin if url and origin.is_absolute() and origin.is_dir() else None


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


class ConfigError(ValueError):
    """A setting the app must not start with; the message says what to change."""


SECRET_MIN_LENGTH = 32
SECRET_FILE = "secret_key"  # nosec B105 # the file's name, not a secret


def private_folder(path: Path) -> Path:
    """The folder, made if missing, that only this user may read (its files hold data and secrets)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _checked_secret(secret: str, source: str, remedy: str) -> str:
    if len(secret) < SECRET_MIN_LENGTH:
        raise ConfigError(f"{source} is {'empty' if not secret else 'too short'}: a secret key needs at least "
                          f"{SECRET_MIN_LENGTH} characters. {remedy}")
    return secret


def _persistent_secret(data_dir: Path) -> str:
    """A development secret kept in the data folder so restarts keep everyone logged in.

    Several processes may start at once: each writes its own candidate to a temporary file and
    links it into place, which succeeds for exactly one of them; the others read the winner's.
    A reader therefore never sees a partly written key."""
    path = private_folder(data_dir) / SECRET_FILE
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=data_dir, prefix=f".{SECRET_FILE}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process linked its key first: everyone uses that one
        finally:
            os.unlink(temporary)
    return _checked_secret(path.read_text().strip(), str(path),
                           "Delete it (a new one is made at the next start) or set SECRET_KEY.")


def _secret_key(data_dir: Path) -> str:
    if os.environ.get("SECRET_KEY"):
        return _checked_secret(os.environ["SECRET_KEY"], "SECRET_KEY",
                               "Make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
    return _persistent_secret(data_dir)


def config_from_env() -> dict:
    data_dir = Path(os.environ.get("GLIMPSE_DATA_DIR", "instance")).resolve()
    secret = _secret_key(data_dir)
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
        # Catch mail and show it at /dev/mail instead of sending it: development only (see check_config).
        "DEV_MAIL_VIEWER": _flag("DEV_MAIL_VIEWER", False),
        "COOKIE_SECURE": _flag("COOKIE_SECURE", base_url.startswith("https://")),
        "WEB_SESSION_DAYS": _int("WEB_SESSION_DAYS", 14),
        # Sign-ups prove their address by a mailed link before they may post, comment, follow or like;
        # off for small private instances (app/auth/verification.py).
        "REQUIRE_EMAIL_VERIFICATION": _flag("REQUIRE_EMAIL_VERIFICATION", True),
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_MB", 100) * 1024 * 1024,
        "ANONYMOUS_POSTS": _flag("ANONYMOUS_POSTS", True),
        "ANONYMOUS_MAX_BYTES": _int("ANONYMOUS_MAX_MB", 10) * 1024 * 1024,
        # Posts scoring above this wait for a moderator instead of being published. Of the 1,000
        # ordinary Flickr8k dev photos, 1 scores above 0.9 (5 above 0.8: `flask ml evaluate-search --through-app`).
        "NSFW_HOLD_THRESHOLD": _float("NSFW_HOLD_THRESHOLD", 0.9),
        # Independent reports after which a post or comment hides until a moderator decides.
        "REPORTS_TO_HIDE": _int("REPORTS_TO_HIDE", 3),
        "IMAGE_CACHE_MB": _int("IMAGE_CACHE_MB", 64),  # per process, for thumbnails and large renditions
        # How long browsers and shared caches may keep a published, scored post's photos (and
        # avatars) before asking again, so how long a hidden or deleted one may still be seen there.
        "PHOTO_CACHE_SECONDS": _int("PHOTO_CACHE_SECONDS", 300),
        # How long a process may serve a published post's photos without looking the post up again
        # if no note of a change reached it (app/posts/photo_files.py: a noted hide or deletion
        # takes about a second), as long as shared caches may keep them; 0 looks up every time.
        "PHOTO_LOOKUP_SECONDS": _float("PHOTO_LOOKUP_SECONDS", 300),
        # How long a process may show a post page (and the API's post) from the post as it last read
        # it if no note of a change reached it (app/posts/memory.py: a noted change takes about a
        # second); 0 reads the post every time.
        "POST_LOOKUP_SECONDS": _float("POST_LOOKUP_SECONDS", 300),
        "PHOTO_MAX_BYTES": _int("PHOTO_MAX_MB", 25) * 1024 * 1024,
        "PHOTO_MAX_PIXELS": _int("PHOTO_MAX_MEGAPIXELS", 50) * 1_000_000,
    }


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_config(config: Mapping[str, Any]) -> None:
    """Refuse settings that would expose what must stay private; ConfigError says what to change."""
    if config["PHOTO_LOOKUP_SECONDS"] > config["PHOTO_CACHE_SECONDS"]:
        # Otherwise a cache revalidating a hidden post's photo would be told it still stands.
        raise ConfigError(f"PHOTO_LOOKUP_SECONDS ({config['PHOTO_LOOKUP_SECONDS']}) is longer than "
                          f"PHOTO_CACHE_SECONDS ({config['PHOTO_CACHE_SECONDS']}): a hidden or deleted post's "
                          "photos would outlive the time caches may keep them. Lower PHOTO_LOOKUP_SECONDS.")
    if config["DEV_MAIL_VIEWER"]:
        # The viewer shows live reset links to whoever reaches /dev/mail from "this machine", and
        # behind a proxy every visitor may seem to: it belongs on a developer's own machine only.
        if config["MAIL_SERVER"]:
            raise ConfigError("DEV_MAIL_VIEWER is on while MAIL_SERVER is set: the development mail viewer "
                              "cannot run beside a real mail server. Turn it off (DEV_MAIL_VIEWER=0).")
        if not is_loopback_url(config["BASE_URL"]):
            raise ConfigError(f"DEV_MAIL_VIEWER is on while BASE_URL ({config['BASE_URL']}) is not on this machine: "
                              "the development mail viewer is for local development only (BASE_URL on 127.0.0.1, "
                              "::1 or localhost). Turn it off (DEV_MAIL_VIEWER=0).")
