"""How often each account action may be tried, per client address and per account."""
from app.core.ratelimit import hit

MINUTE, HOUR = 60, 3600


def limit_login(client_ip: str, login: str) -> None:
    hit("login-ip", client_ip, limit=30, window_seconds=5 * MINUTE)
    hit("login-account", login.strip() or "-", limit=10, window_seconds=15 * MINUTE)


def limit_signup(client_ip: str) -> None:
    hit("signup-ip", client_ip, limit=10, window_seconds=HOUR)


def limit_password_forgot(client_ip: str, email: str) -> None:
    hit("forgot-ip", client_ip, limit=10, window_seconds=HOUR)
    hit("forgot-account", email.strip() or "-", limit=3, window_seconds=HOUR)
