"""How often each account action may be tried, per client address and per account.

Signing in limits what an attacker can do, not what the owner can: only failures count, and an
account under attack refuses only the addresses that have failed against it.
"""
from typing import cast

from app.auth import services
from app.core.db import MongoDatabase
from app.core.errors import AuthenticationError, ValidationError
from app.core.ratelimit import client_subject, count_one, counted, hit, refuse

MINUTE, HOUR = 60, 3600
LOGIN_WINDOW_SECONDS = 15 * MINUTE
# An address with this many failed sign-ins (any accounts) is refused for the rest of its window.
LOGIN_FAILURES_PER_ADDRESS = 30
# An account with this many failed sign-ins (any addresses) refuses every address that has failed
# against it, for the rest of either window; an address that has not may still try.
LOGIN_FAILURES_PER_ACCOUNT = 10
WRONG_CURRENT_PASSWORD = "That is not your current password."  # nosec B105


def sign_in(db: MongoDatabase, login: str, password: str, *, client_address: str | None, rounds: int) -> dict:
    """The user `login` names if `password` is theirs. A refused address (429) gets no answer about
    the password: it is not checked."""
    user = services.find_user_by_login(db, login)
    # Prefixed: a name nobody holds may spell a user's id.
    account = f"user {user['_id']}" if user else f"login {services.normalised_login(login)}"
    if not _password_checked(db, user, account, password, client_address=client_address, rounds=rounds):
        raise AuthenticationError(services.WRONG_CREDENTIALS)
    return services.require_active(cast(dict, user))  # a password matched, so there is a user


def confirm_password(db: MongoDatabase, user: dict, password: str, *, field: str, client_address: str | None,
                     rounds: int) -> None:
    """A signed-in user's password, asked again before a change to the account (its password, its
    deletion), named by the form's `field` when wrong. Counted as a sign-in is, against the same
    account: a session (perhaps a stolen one) guesses no faster than the sign-in form lets anyone.
    A 422, not a 401: the session is fine, and an API client must not take it for an expired token."""
    if not _password_checked(db, user, f"user {user['_id']}", password, client_address=client_address, rounds=rounds):
        raise ValidationError(WRONG_CURRENT_PASSWORD, fields={field: WRONG_CURRENT_PASSWORD})


def _password_checked(db: MongoDatabase, user: dict | None, account: str, password: str, *,
                      client_address: str | None, rounds: int) -> bool:
    """Whether `password` is the user's; a failure counts against the address and the account."""
    address = client_subject(client_address)
    pair = f"{account} {address}"
    _refuse_locked_out(address, account, pair)
    if services.password_matches(db, user, password, rounds=rounds):
        return True
    for scope, subject in (("login-fail-address", address), ("login-fail-account", account),
                           ("login-fail-account-address", pair)):
        count_one(scope, subject, window_seconds=LOGIN_WINDOW_SECONDS)
    return False


def _refuse_locked_out(address: str, account: str, pair: str) -> None:
    address_failures, address_wait = counted("login-fail-address", address)
    if address_failures >= LOGIN_FAILURES_PER_ADDRESS:
        refuse(address_wait)
    account_failures, account_wait = counted("login-fail-account", account)
    pair_failures, pair_wait = counted("login-fail-account-address", pair)
    if account_failures >= LOGIN_FAILURES_PER_ACCOUNT and pair_failures:
        refuse(min(account_wait, pair_wait))


def limit_signup(client_ip: str | None) -> None:
    hit("signup-ip", client_subject(client_ip), limit=10, window_seconds=HOUR)


def limit_password_forgot(client_ip: str | None, email: str) -> None:
    hit("forgot-ip", client_subject(client_ip), limit=10, window_seconds=HOUR)
    hit("forgot-account", email.strip() or "-", limit=3, window_seconds=HOUR)


# Verification mail: sign-up's own mail is not counted; what is asked for afterwards is, per account
# and per address (so several accounts cannot flood one address with links).
VERIFICATION_MAILS_PER_ACCOUNT = 5
VERIFICATION_MAILS_PER_ADDRESS = 3


def limit_verification_mail(account_id: str, address: str) -> None:
    hit("verify-mail-account", account_id, limit=VERIFICATION_MAILS_PER_ACCOUNT, window_seconds=HOUR)
    hit("verify-mail-address", address or "-", limit=VERIFICATION_MAILS_PER_ADDRESS, window_seconds=HOUR)
