"""Accounts: sign-up, sign-in, password reset. Plain functions over the database, no request."""
import hashlib
import re
from collections.abc import Callable
from functools import lru_cache

import bcrypt
from bson import ObjectId
from bson.errors import InvalidId
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pymongo.errors import DuplicateKeyError

from app.auth.sessions import end_all_sessions
from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidTokenError,
    NotFoundError,
    ValidationError,
)
from app.core.statuses import UserStatus

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{3,30}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_BYTES = 72  # bcrypt ignores (and bcrypt 5 refuses) anything longer
RESET_TOKEN_MAX_AGE_SECONDS = 3600
# A namespace for signatures, not a secret.
RESET_TOKEN_SALT = "glimpse-password-reset"  # nosec B105
ROLES = ("user", "moderator", "admin")
WRONG_CREDENTIALS = "Wrong username, email or password."


def password_problem(password: str) -> str | None:
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"Use at least {PASSWORD_MIN_LENGTH} characters."
    if len(password.encode()) > PASSWORD_MAX_BYTES:
        return f"Use at most {PASSWORD_MAX_BYTES} bytes."
    return None


def validate_signup(username: str, email: str, password: str) -> dict[str, str]:
    problems = {}
    if not USERNAME_PATTERN.match(username):
        problems["username"] = "3 to 30 letters, digits or underscores."
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        problems["email"] = "Enter a valid email address."
    if problem := password_problem(password):
        problems["password"] = problem
    return problems


def hash_password(password: str, rounds: int) -> str:
    return _hash(password.encode(), rounds)


def _hash(secret: bytes, rounds: int) -> str:
    return bcrypt.hashpw(secret, bcrypt.gensalt(rounds=rounds)).decode()


def create_user(db: MongoDatabase, *, username: str, email: str, password: str, rounds: int, role: str = "user",
                email_verified: bool = False) -> dict:
    """A new account; `email_verified` only where the address is vouched for otherwise (the operator's
    CLI, demo data): a sign-up proves its address with the mailed link (app/auth/verification.py)."""
    username, email = username.strip(), email.strip()
    if problems := validate_signup(username, email, password):
        raise ValidationError("Please correct the highlighted fields.", fields=problems)
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}.", fields={"role": "user, moderator or admin."})
    now = utc_now()
    user = {
        "username": username, "username_lower": username.lower(),
        "email": email, "email_lower": email.lower(),
        "password_hash": hash_password(password, rounds),
        "role": role, "status": UserStatus.ACTIVE,
        "bio": "", "created_at": now, "email_verified": email_verified,
    }
    try:
        user["_id"] = db.users.insert_one(user).inserted_id
    except DuplicateKeyError as error:
        field = "email" if "email" in str(error) else "username"
        raise ConflictError(f"That {field} is already taken.", fields={field: f"That {field} is already taken."}) from None
    return user


def normalised_login(login: str) -> str:
    return login.strip().lower()


def find_user_by_login(db: MongoDatabase, login: str) -> dict | None:
    login = normalised_login(login)
    if not login:
        return None
    field = "email_lower" if "@" in login else "username_lower"
    return db.users.find_one({field: login})


def find_user_by_id(db: MongoDatabase, user_id: ObjectId | str) -> dict | None:
    try:
        return db.users.find_one({"_id": ObjectId(user_id)})
    except (InvalidId, TypeError):
        return None


def find_user_by_username(db: MongoDatabase, username: str) -> dict | None:
    return db.users.find_one({"username_lower": username.lower()})


def get_active_user(db: MongoDatabase, username: str) -> dict:
    """The account a profile, a follow or a follow list names: a suspended one is not found either."""
    user = find_user_by_username(db, username)
    if user is None or user["status"] != UserStatus.ACTIVE:
        raise NotFoundError("No such user.")
    return user


@lru_cache
def _dummy_hash(rounds: int) -> bytes:
    # Checked against when the login names nobody, at the cost real hashes have, so both answers
    # take as long (no enumeration by timing). Made once per cost: hashing costs as much as checking.
    return _hash(b"not-a-real-password", rounds).encode()


def _cost(password_hash: str) -> int:
    return int(password_hash.split("$")[2])  # "$2b$12$<salt and hash>"


def password_matches(db: MongoDatabase, user: dict | None, password: str, *, rounds: int) -> bool:
    """Whether `password` is the user's, checked at full cost even when there is no user. A hash of
    another cost than `rounds` is remade at `rounds` once its password is known, so every account's
    wrong password soon costs what an unknown name costs."""
    stored = user["password_hash"] if user else None
    candidate = password.encode()[:PASSWORD_MAX_BYTES]  # as bcrypt always saw it (bcrypt 5 refuses more)
    matches = bcrypt.checkpw(candidate, stored.encode() if stored else _dummy_hash(rounds))
    if not (user and matches):
        return False
    if _cost(user["password_hash"]) != rounds:
        # Only over the hash just checked: a reset that changed it meanwhile wins.
        db.users.update_one({"_id": user["_id"], "password_hash": stored},
                            {"$set": {"password_hash": _hash(candidate, rounds)}})
    return True


def require_active(user: dict) -> dict:
    if user["status"] == UserStatus.DELETING:
        raise AuthenticationError("This account has been deleted.")
    if user["status"] != UserStatus.ACTIVE:
        raise AuthenticationError("This account is suspended.")
    return user


def public_user(user: dict) -> dict:
    return {
        "id": str(user["_id"]), "username": user["username"], "bio": user.get("bio", ""),
        "created_at": user["created_at"].isoformat(),
    }


def pending_email(user: dict) -> str | None:
    """A new address that replaces the account's once its mailed link is opened."""
    awaiting = user.get("email_verification")
    return awaiting["email"] if awaiting and awaiting["email_lower"] != user["email_lower"] else None


def private_user(user: dict) -> dict:
    return {**public_user(user), "email": user["email"], "role": user["role"],
            "email_verified": bool(user.get("email_verified")), "pending_email": pending_email(user)}


def signed_link_token(secret: str, salt: str, data: dict) -> str:
    """The token of a mailed link: `data`, signed and timestamped; `salt` keeps each kind of link
    from being accepted as another."""
    return URLSafeTimedSerializer(secret, salt=salt).dumps(data)


def signed_link_data(secret: str, salt: str, token: str, *, max_age: int, link_name: str) -> dict:
    """What `signed_link_token` signed, if the token is genuine and younger than `max_age` seconds."""
    try:
        return URLSafeTimedSerializer(secret, salt=salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvalidTokenError(f"This {link_name} link has expired. Ask for a new one.") from None
    except BadSignature:
        raise InvalidTokenError(f"This {link_name} link is not valid. Ask for a new one.") from None


def _password_fingerprint(user: dict) -> str:
    # The token names the password it replaces: once that changes the token is spent (single use).
    return hashlib.sha256(user["password_hash"].encode()).hexdigest()[:16]


def make_reset_token(secret: str, user: dict) -> str:
    return signed_link_token(secret, RESET_TOKEN_SALT, {"uid": str(user["_id"]), "pw": _password_fingerprint(user)})


def reset_link(base_url: str, token: str) -> str:
    return f"{base_url}/reset/{token}"


def reset_mail(user: dict, link: str) -> tuple[str, str]:
    subject = "Reset your Glimpse password"
    text = (
        f"Hello {user['username']},\n\n"
        f"Someone (hopefully you) asked to reset your Glimpse password. Open this link within one hour:\n\n"
        f"{link}\n\n"
        "If you did not ask for this, ignore this mail; your password stays as it is.\n"
    )
    return subject, text


def user_for_reset_token(db: MongoDatabase, secret: str, token: str) -> dict:
    data = signed_link_data(secret, RESET_TOKEN_SALT, token, max_age=RESET_TOKEN_MAX_AGE_SECONDS, link_name="reset")
    user = find_user_by_id(db, data.get("uid", ""))
    if user is None or data.get("pw") != _password_fingerprint(user):
        raise InvalidTokenError("This reset link has already been used. Ask for a new one.")
    return user


def reset_password(db: MongoDatabase, secret: str, token: str, new_password: str, rounds: int) -> dict:
    user = user_for_reset_token(db, secret, token)
    if problem := password_problem(new_password):
        raise ValidationError("Please choose another password.", fields={"password": problem})
    # Matching the old hash makes a concurrent second use of the same token lose the race.
    result = db.users.find_one_and_update(
        {"_id": user["_id"], "password_hash": user["password_hash"]},
        {"$set": {"password_hash": hash_password(new_password, rounds)}},
    )
    if result is None:
        raise InvalidTokenError("This reset link has already been used. Ask for a new one.")
    end_all_sessions(db, user["_id"])  # whoever knew the old password is signed out everywhere
    return user


def set_password(db: MongoDatabase, user: dict, new_password: str, *, rounds: int, keep_session: str) -> None:
    """A new password for a signed-in user whose current one was just confirmed. Every session but
    `keep_session` (the one asking) ends: whoever knew the old password is signed out everywhere."""
    if problem := password_problem(new_password):
        raise ValidationError("Please choose another password.", fields={"new_password": problem})
    # Only while the asking session lives: one ended meanwhile (a reset, "sign out everywhere") cannot.
    result = db.users.update_one({"_id": user["_id"], f"sessions.{keep_session}": {"$exists": True}},
                                 {"$set": {"password_hash": hash_password(new_password, rounds)}})
    if result.matched_count == 0:
        raise AuthenticationError("This session has ended. Sign in again.")
    end_all_sessions(db, user["_id"], keep=keep_session)


def password_changed_mail(user: dict, forgot_link: str) -> tuple[str, str]:
    subject = "Your Glimpse password was changed"
    text = (
        f"Hello {user['username']},\n\n"
        "The password of your Glimpse account was just changed, and every other device was signed out.\n\n"
        "If this was not you, reset your password now and sign in again:\n\n"
        f"{forgot_link}\n"
    )
    return subject, text


def send_password_reset(db: MongoDatabase, email: str, *, secret: str, base_url: str,
                        send: Callable[[str, str, str], object]) -> None:
    """Mail a reset link if the address belongs to an active account; nothing otherwise."""
    user = db.users.find_one({"email_lower": email.strip().lower()})
    if user is None or user["status"] != UserStatus.ACTIVE:
        return
    subject, text = reset_mail(user, reset_link(base_url, make_reset_token(secret, user)))
    send(user["email"], subject, text)
