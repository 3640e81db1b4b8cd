"""A session's device in words, from its User-Agent: "Firefox on Linux", "curl", "Glimpse API client".

A small parser on purpose: the list of sessions only needs to let a person tell their devices apart,
so it names the common browsers and systems and nothing finer (no versions, no models).
"""
import re

# First match wins: Chromium-based browsers also say "Chrome" and "Safari", Chrome also says "Safari".
BROWSERS = (
    ("Edg/", "Edge"), ("EdgA/", "Edge"), ("EdgiOS/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"), ("CriOS/", "Chrome"), ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"), ("Safari/", "Safari"),
)
# Android and ChromeOS say "Linux", and iOS says "like Mac OS X": they come before Linux and macOS.
SYSTEMS = (
    ("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("CrOS", "ChromeOS"),
    ("Macintosh", "macOS"), ("Mac OS X", "macOS"), ("Linux", "Linux"),
)
# A client that is not a browser names itself first: "curl/8.5.0", "python-requests/2.32".
PRODUCT = re.compile(r"^([A-Za-z][\w.-]{0,40})/")
API_CLIENT = "Glimpse API client"
WEB_BROWSER = "Web browser"


def _first(user_agent: str, table: tuple) -> str | None:
    return next((name for marker, name in table if marker in user_agent), None)


def describe_device(user_agent: str, kind: str) -> str:
    """`kind` is the session's ("web" or "api"): it names what the User-Agent does not."""
    if user_agent.startswith("Mozilla/"):
        browser = _first(user_agent, BROWSERS) or WEB_BROWSER
        system = _first(user_agent, SYSTEMS)
        return f"{browser} on {system}" if system else browser
    if product := PRODUCT.match(user_agent):
        return product.group(1)
    return WEB_BROWSER if kind == "web" else API_CLIENT
