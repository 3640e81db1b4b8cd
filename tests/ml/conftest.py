"""Fixtures for the ML tests: the shared Flickr8k data (tests/conftest.py refuses to run without it) and
models loaded once."""

from pathlib import Path

import pytest

from app.config import datasets_dir as shared_datasets_dir

DATASETS_DIR = shared_datasets_dir()
DOG_PHOTO = "1001773457_577c3a7d70.jpg"  # all five of its captions mention a dog


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    return DATASETS_DIR


@pytest.fixture(scope="session")
def flickr8k_dir(datasets_dir) -> Path:
    return datasets_dir / "flickr8k"


@pytest.fixture(scope="session")
def photos(datasets_dir) -> list[Path]:
    return sorted((datasets_dir / "photos").glob("*.jpg"))


@pytest.fixture(scope="session")
def describer():
    from ml_models import PhotoDescriber

    return PhotoDescriber.load()


@pytest.fixture(scope="session")
def encoder(describer):
    return describer.encoder
