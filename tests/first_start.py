"""One process of a first start, run many at once by test_data_at_rest (kept apart from the test
module so that each process imports little)."""
import os

from app.config import config_from_env


def secret_key_of_a_first_start(data_dir: str, barrier, results) -> None:
    os.environ.pop("SECRET_KEY", None)
    os.environ["GLIMPSE_DATA_DIR"] = data_dir
    barrier.wait()
    try:
        results.put(config_from_env()["SECRET_KEY"])
    except Exception as error:  # the test reports what each process met
        results.put(repr(error))
