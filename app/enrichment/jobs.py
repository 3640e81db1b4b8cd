"""The `enrich_post` background job (create_app puts it in the job table)."""
from flask import current_app

from app.core.db import get_db, get_fs
from app.enrichment.models import get_describer
from app.enrichment.service import enrich_post, mark_enrichment_failed


def run_enrich_post(payload: dict) -> None:
    enrich_post(get_db(), get_fs(), get_describer(), payload["post_id"],
                nsfw_hold_threshold=current_app.config["NSFW_HOLD_THRESHOLD"])


def give_up_enrich_post(payload: dict, error: str) -> None:
    mark_enrichment_failed(get_db(), payload["post_id"], error)

