"""The test run's own set-up: the browser it drives (CHROMIUM) and the database it runs against
(TEST_MONGODB_URI), each checked by running a slice of the suite in a pytest of its own."""
import os
import subprocess
import sys

from helpers import PROJECT_ROOT, free_port

from app import config


def run_tests(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], check=False,
                          cwd=PROJECT_ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def test_without_chromium_the_browser_tests_fail_and_say_what_to_install():
    result = run_tests("tests/browser/test_accounts_browser.py", "-x", CHROMIUM="/nowhere/chromium")
    assert result.returncode == 1, result.stdout
    assert "Chromium not found (/nowhere/chromium): run `sudo apt-get install chromium`" in result.stdout
    assert "skipped" not in result.stdout


def test_test_mongodb_uri_chooses_the_database_server(mongo_uri):
    a_slice = ("tests/test_platform.py", "-k", "unique_indexes or job_whose_worker_died")
    nothing_there = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true&serverSelectionTimeoutMS=300"
    refused = run_tests(*a_slice, TEST_MONGODB_URI=nothing_there)
    assert refused.returncode == 1 and "passed" not in refused.stdout, refused.stdout
    assert "ServerSelectionTimeoutError" in refused.stdout
    served = run_tests(*a_slice, TEST_MONGODB_URI=mongo_uri)
    assert served.returncode == 0 and "2 passed" in served.stdout, served.stdout


def test_without_the_shared_datasets_no_test_runs_and_the_run_says_where_to_put_them(tmp_path):
    result = run_tests("tests/test_platform.py", GLIMPSE_DATASETS_DIR=str(tmp_path))
    assert result.returncode != 0 and "passed" not in result.stdout and "skipped" not in result.stdout
    assert f"{tmp_path} lacks photos" in result.stderr and "GLIMPSE_DATASETS_DIR" in result.stderr


def test_a_clone_finds_the_shared_datasets_beside_itself_else_beside_the_checkout_it_was_cloned_from(
        tmp_path, monkeypatch):
    monkeypatch.delenv("GLIMPSE_DATASETS_DIR", raising=False)
    origin, clone = tmp_path / "work" / "glimpse", tmp_path / "elsewhere" / "glimpse"
    (origin.parent / "shared" / "datasets").mkdir(parents=True)
    origin.mkdir()
    (clone / ".git").mkdir(parents=True)
    (clone / ".git" / "config").write_text(f'[remote "origin"]\n\turl = {origin}\n')
    monkeypatch.setattr(config, "PROJECT_ROOT", clone)
    assert config.datasets_dir() == origin.parent / "shared" / "datasets"
    (clone.parent / "shared" / "datasets").mkdir(parents=True)
    assert config.datasets_dir() == clone.parent / "shared" / "datasets"
    monkeypatch.setenv("GLIMPSE_DATASETS_DIR", str(tmp_path))
    assert config.datasets_dir() == tmp_path
