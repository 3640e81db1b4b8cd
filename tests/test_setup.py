"""The test run's own set-up, checked by running a slice of the suite in a pytest of its own."""
import os
import subprocess
import sys

from helpers import PROJECT_ROOT


def run_tests(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], check=False,
                          cwd=PROJECT_ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def test_without_chromium_the_browser_tests_fail_and_say_what_to_install():
    result = run_tests("tests/browser/test_accounts_browser.py", "-x", CHROMIUM="/nowhere/chromium")
    assert result.returncode == 1, result.stdout
    assert "Chromium not found (/nowhere/chromium): run `sudo apt-get install chromium`" in result.stdout
    assert "skipped" not in result.stdout
