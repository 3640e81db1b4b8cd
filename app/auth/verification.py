"""Email verification: an address is proven by opening a link mailed to it.

A sign-up's address waits for its link (when REQUIRE_EMAIL_VERIFICATION is on); until then the
account may sign in and look around but not reach other people (post, comment, follow, like). A new
address, asked for in settings, waits for its link too, and replaces the account's only when that
link is opened; the old address is told at once.

The link is signed like the reset link (app/auth/services.py) and names the address it proves and
a nonce kept in the account; opening it removes the nonce, so each link works once. Sending it again
sends the same nonce: an earlier mail's link stays good until one of them is used or it expires.
"""
import secrets
from collections.abc import Callable

from flask import current_app, request
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from app.auth import limits
from app.auth.services import (
    EMAIL_PATTERN,
    find_user_by_id,
    signed_link_data,
    signed_link_token,
)
from app.core.db import MongoDatabase, get_db
from app.core.errors import ConflictError, ForbiddenError, InvalidTokenError, NotFoundError, ValidationError
from app.core.mail import queue_mail

VERIFY_TOKEN_MAX_AGE_SECONDS = 2 * 24 * 3600
# A namespace for signatures, not a secret.
VERIFY_TOKEN_SALT = "glimpse-email-verification"  # nosec B105
LINK_USED = "This verification link has already been used. Sign in to see your address, or ask for a new link."
EMAIL_TAKEN = "That email is already taken."
UNVERIFIED_DOC = "Email address not verified yet (code email_unverified)"


class EmailUnverifiedError(ForbiddenError):
    code = "email_unverified"


def unverified_message(user: dict) -> str:
    return (f"Verify your email address first: open the link we mailed to {user['email']}, "
            "or ask for a new one with \"Send again\". Until then you can look around, but not post, "
            "comment, follow or like.")


def needs_verification(user: dict | None, *, required: bool) -> bool:
    return required and user is not None and not user.get("email_verified")


def require_verified(user: dict, *, required: bool) -> None:
    """Refuse what reaches other people (a post, a comment, a follow, a like) to an unproven address."""
    if needs_verification(user, required=required):
        raise EmailUnverifiedError(unverified_message(user))


def await_address(db: MongoDatabase, user: dict, address: str) -> dict:
    """Make `address` the one the account's next link proves (a fresh nonce: older links stop working)."""
    awaiting = {"email": address, "email_lower": address.lower(), "nonce": secrets.token_hex(8)}
    updated = db.users.find_one_and_update({"_id": user["_id"]}, {"$set": {"email_verification": awaiting}},
                                           return_document=ReturnDocument.AFTER)
    if updated is None:  # deleted meanwhile
        raise NotFoundError("No such user.")
    return updated


def verification_link(base_url: str, secret: str, user: dict) -> str:
    awaiting = user["email_verification"]
    token = signed_link_token(secret, VERIFY_TOKEN_SALT, {"uid": str(user["_id"]), "n": awaiting["nonce"]})
    return f"{base_url}/verify/{token}"


def verification_mail(user: dict, link: str) -> tuple[str, str]:
    changing = user["email_verification"]["email_lower"] != user["email_lower"]
    purpose = ("make this the address of your Glimpse account" if changing
               else "confirm this address for your new Glimpse account")
    text = (f"Hello {user['username']},\n\n"
            f"Open this link within two days to {purpose}:\n\n{link}\n\n"
            "If you did not ask for this, ignore this mail; nothing changes.\n")
    return "Confirm your email address for Glimpse", text


def send_verification(user: dict, *, secret: str, base_url: str, send: Callable[[str, str, str], object]) -> None:
    """Mail the account's awaited address its link."""
    subject, text = verification_mail(user, verification_link(base_url, secret, user))
    send(user["email_verification"]["email"], subject, text)


def awaiting_verification(user: dict) -> bool:
    return bool(user.get("email_verification"))


def verify_email(db: MongoDatabase, secret: str, token: str) -> dict:
    """Open a verification link: its address becomes the account's, proven. The account, as it now is."""
    data = signed_link_data(secret, VERIFY_TOKEN_SALT, token, max_age=VERIFY_TOKEN_MAX_AGE_SECONDS,
                            link_name="verification")
    user = find_user_by_id(db, data.get("uid", ""))
    awaiting = (user or {}).get("email_verification")
    if user is None or not awaiting or awaiting["nonce"] != data.get("n"):
        raise InvalidTokenError(LINK_USED)
    try:
        # Matching the nonce makes a second, concurrent use of the same link lose the race.
        verified = db.users.find_one_and_update(
            {"_id": user["_id"], "email_verification.nonce": awaiting["nonce"]},
            {"$set": {"email": awaiting["email"], "email_lower": awaiting["email_lower"], "email_verified": True},
             "$unset": {"email_verification": ""}},
            return_document=ReturnDocument.AFTER)
    except DuplicateKeyError:
        raise ConflictError("That address has meanwhile become another account's. Choose another one.") from None
    if verified is None:
        raise InvalidTokenError(LINK_USED)
    return verified


def change_mail(user: dict, new_address: str) -> tuple[str, str]:
    text = (f"Hello {user['username']},\n\n"
            f"Someone signed in to your Glimpse account asked to change its email address to {new_address}. "
            "The change takes effect when the link mailed there is opened; until then this address stays.\n\n"
            "If this was not you, sign in and change your password (or use \"Forgot your password?\"), "
            "and ask for this address to be kept by changing the email again to this one.\n")
    return "Your Glimpse email address is being changed", text


def request_email_change(db: MongoDatabase, user: dict, new_address: str, password: str, *, client_address: str | None,
                         rounds: int) -> dict:
    """Await `new_address` (checked, free, and not the current one) for an account that knows its
    password. The account keeps its address until the link is opened; the caller mails both."""
    new_address = new_address.strip()
    if len(new_address) > 254 or not EMAIL_PATTERN.match(new_address):
        raise ValidationError("Please correct the highlighted fields.", fields={"email": "Enter a valid email address."})
    limits.confirm_password(db, user, password, field="password", client_address=client_address, rounds=rounds)
    if new_address.lower() == user["email_lower"]:
        raise ValidationError("That is already your address.", fields={"email": "That is already your address."})
    # The same answer sign-up gives for a taken address: it reveals no more than sign-up does.
    if db.users.find_one({"email_lower": new_address.lower(), "_id": {"$ne": user["_id"]}}, {"_id": 1}):
        raise ConflictError(EMAIL_TAKEN, fields={"email": EMAIL_TAKEN})
    return await_address(db, user, new_address)


# The same steps for pages and API, reading the app's settings.

def verification_required() -> bool:
    return current_app.config["REQUIRE_EMAIL_VERIFICATION"]


def refuse_unverified(user: dict) -> None:
    require_verified(user, required=verification_required())


def _mail_link(user: dict) -> None:
    send_verification(user, secret=current_app.config["SECRET_KEY"], base_url=current_app.config["BASE_URL"],
                      send=queue_mail)


def start_signup_verification(user: dict) -> None:
    """A new account's address waits for its link, when verification is required."""
    if verification_required():
        _mail_link(await_address(get_db(), user, user["email"]))


def send_again(user: dict) -> dict:
    """Mail the awaited address its link once more (rate-limited per account and per address)."""
    if not awaiting_verification(user):
        if user.get("email_verified") or not verification_required():
            raise ConflictError("Your email address is already verified.")
        user = await_address(get_db(), user, user["email"])  # signed up while verification was off
    limits.limit_verification_mail(str(user["_id"]), user["email_verification"]["email"])
    _mail_link(user)
    return user


def change_email(user: dict, new_address: str, password: str) -> dict:
    """Await a new address and mail it its link, and tell the current one. A wrong password counts as
    a failed sign-in, so this is no faster a way to guess it than signing in."""
    limits.limit_verification_mail(str(user["_id"]), new_address.strip())
    user = request_email_change(get_db(), user, new_address, password, client_address=request.remote_addr,
                                rounds=current_app.config["BCRYPT_ROUNDS"])
    _mail_link(user)
    queue_mail(user["email"], *change_mail(user, new_address))
    return user
