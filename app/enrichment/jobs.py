"""The `enrich_post` background job."""
from flask import current_app

from app.core.db import get_db, get_fs
from app.enrichment.models import get_describer
from app.enrichment.service import enrich_post, mark_enrichment_failed
from app.jobs import register_handler
from app.posts.services import ENRICH_POST_JOB


def run_enrich_post(payload: dict) -> None:
    enrich_post(get_db(), get_fs(), get_describer(), payload["post_id"],
                nsfw_hold_threshold=current_app.config["NSFW_HOLD_THRESHOLD"])


def give_up_enrich_post(payload: dict, error: str) -> None:
    mark_enrichment_failed(get_db(), payload["post_id"], error)


register_handler(ENRICH_POST_JOB, run_enrich_post, on_give_up=give_up_enrich_post)
