"""What describing photos costs, how fast an album imports, and what the models reach on dev."""
import resource
import time

from app.posts.importer import import_photos
from app.posts.services import UploadLimits


def describing(photo_paths, log=print) -> dict:
    from ml_models.images import open_image  # noqa: PLC0415  (TensorFlow loads with it)
    from ml_models.pipeline import PhotoDescriber  # noqa: PLC0415

    started = time.perf_counter()
    describer = PhotoDescriber.load(threads=1)
    load_seconds = time.perf_counter() - started
    images = [open_image(path) for path in photo_paths]
    single = []
    for image in images[:50]:
        started = time.perf_counter()
        describer.describe(image)
        single.append(time.perf_counter() - started)
    started = time.perf_counter()
    describer.describe_many(images)
    batch_seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log(f"  describe: {sorted(single)[len(single) // 2] * 1000:.0f} ms median")
    return {"load_s": load_seconds, "single_ms": sorted(single), "batch_photos_per_s": len(images) / batch_seconds,
            "rss_mb": rss_mb, "versions": describer.versions}


def album_import(db, fs, author, photo_paths) -> dict:
    started = time.perf_counter()
    report = import_photos(db, fs, author=author, paths=photo_paths,
                           limits=UploadLimits(max_bytes=25 << 20, max_pixels=50_000_000))
    seconds = time.perf_counter() - started
    return {"photos": report.imported, "photos_per_s": report.imported / seconds}


def quality(data_dir, log=print) -> dict:
    from ml_models import training  # noqa: PLC0415

    results = {}
    for name, evaluate in (("captioner", training.evaluate_captioner), ("tagger", training.evaluate_tagger),
                           ("search", training.evaluate_search)):
        log(f"  evaluating the {name} on dev")
        try:
            results[name] = evaluate(data_dir, split="dev")
        except (FileNotFoundError, OSError) as error:  # e.g. the projection is not trained yet
            results[name] = {"error": str(error)}
    return results
