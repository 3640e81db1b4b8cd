"""Signing in as an attacker would probe it: what timing says about accounts, and who a run of
wrong passwords locks out (the attacker's address, never the owner elsewhere)."""
import statistics
import time
from datetime import timedelta

import pytest
from helpers import api_login, api_signup, client_from, page_login

from app.core.clock import utc_now

ATTACKER, OWNER, OTHER = "203.0.113.66", "198.51.100.7", "192.0.2.33"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRUSTED_PROXIES": 1}


def let_the_windows_pass(db):
    """What fifteen minutes do to the counters (the TTL monitor would remove them soon after)."""
    db.rate_limits.update_many({}, {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}})


def test_unknown_names_take_as_long_as_wrong_passwords(app_config, app):
    app.config.update(BCRYPT_ROUNDS=10, RATELIMIT_ENABLED=False)  # a real check costs tens of ms
    client = app.test_client()
    api_signup(client, "bob")

    def median_seconds(login: str) -> float:
        times = []
        for _ in range(7):
            started = time.perf_counter()
            assert api_login(client, login, "not the password").status_code == 401
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    unknown, known = median_seconds("nobody"), median_seconds("bob")
    assert 0.5 < unknown / known < 2, (unknown, known)


def test_a_hash_of_another_cost_is_remade_at_the_configured_cost_on_sign_in(app, client, db):
    api_signup(client, "bob")  # at 4 rounds
    app.config["BCRYPT_ROUNDS"] = 5
    assert api_login(client, "bob", "not the password").status_code == 401
    assert db.users.find_one({"username": "bob"})["password_hash"].startswith("$2b$04$")
    assert api_login(client, "bob").status_code == 200
    assert db.users.find_one({"username": "bob"})["password_hash"].startswith("$2b$05$")
    assert api_login(client, "bob").status_code == 200


def test_failures_from_one_address_lock_that_address_out_not_the_owner(app, db):
    attacker, owner = client_from(app, ATTACKER), client_from(app, OWNER)
    api_signup(owner, "bob")
    assert [api_login(attacker, "bob", f"guess {n}").status_code for n in range(10)] == [401] * 10

    refused = api_login(attacker, "bob")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["code"] == "rate_limited"
    # Refused before the password is looked at: a right and a wrong one get the same answer.
    assert api_login(attacker, "bob", "guess 11").get_json() == refused.get_json()
    assert page_login(client_from(app, ATTACKER), "bob").status_code == 429

    assert api_login(owner, "bob").status_code == 200
    assert page_login(client_from(app, OWNER), "bob").status_code == 302

    let_the_windows_pass(db)
    assert api_login(attacker, "bob").status_code == 200


def test_username_and_email_are_one_account(app):
    attacker = client_from(app, ATTACKER)
    api_signup(client_from(app, OWNER), "bob")
    for n in range(5):
        assert api_login(attacker, "bob", f"guess {n}").status_code == 401
        assert api_login(attacker, " Bob@Example.com", f"guess {n}").status_code == 401
    assert api_login(attacker, "bob").status_code == 429
    assert api_login(attacker, "bob@example.com").status_code == 429


def test_a_locked_account_lets_each_new_address_fail_once_then_refuses_it(app):
    api_signup(client_from(app, OWNER), "bob")
    attacker, second = client_from(app, ATTACKER), client_from(app, OTHER)
    for n in range(10):
        api_login(attacker, "bob", f"guess {n}")
    assert api_login(second, "bob", "guess 10").status_code == 401
    assert api_login(second, "bob").status_code == 429
    assert api_login(client_from(app, OWNER), "bob").status_code == 200


def test_successful_sign_ins_are_never_counted(app):
    owner = client_from(app, OWNER)
    api_signup(owner, "bob")
    assert all(api_login(owner, "bob").status_code == 200 for _ in range(40))
    assert all(api_login(owner, "bob@example.com").status_code == 200 for _ in range(5))


def test_an_address_spraying_many_accounts_is_refused_for_all_of_them(app, db):
    owner, attacker = client_from(app, OWNER), client_from(app, ATTACKER)
    api_signup(owner, "bob")
    for n in range(29):
        assert api_login(attacker, f"user{n}", "password1").status_code == 401
        if n % 3 == 0:  # the address's own sign-ins in between do not count
            assert api_login(attacker, "bob").status_code == 200
    assert api_login(attacker, "user29", "password1").status_code == 401
    assert api_login(attacker, "bob").status_code == 429
    assert api_login(owner, "bob").status_code == 200
    let_the_windows_pass(db)
    assert api_login(attacker, "bob").status_code == 200


def test_an_ipv6_client_is_counted_by_its_64_prefix(app):
    api_signup(client_from(app, OWNER), "bob")
    for n in range(30):
        assert api_login(client_from(app, f"2001:db8:0:7::{n + 1:x}"), f"user{n}", "password1").status_code == 401
    assert api_login(client_from(app, "2001:db8:0:7::ffff"), "bob").status_code == 429
    assert api_login(client_from(app, "2001:db8:0:8::1"), "bob").status_code == 200
