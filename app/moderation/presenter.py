"""The review queue as moderators see it (pages and API alike)."""
from app.core.db import MongoDatabase
from app.core.statuses import PostStatus
from app.posts.presenter import present_comments, present_post


def present_queue(db: MongoDatabase, items: list[dict]) -> list[dict]:
    posts = [present_post(entry["item"]) for entry in items if entry["type"] == "post"]
    comments = present_comments(db, [entry["item"] for entry in items if entry["type"] == "comment"])
    by_id = {item["id"]: item for item in posts + comments}
    presented = []
    for entry in items:
        item = by_id[str(entry["item"]["_id"])]
        reasons: dict[str, int] = {}
        for report in entry["reports"]:
            reasons[report["reason"]] = reasons.get(report["reason"], 0) + 1
        presented.append({
            "type": entry["type"], "item": item, "nsfw": entry["item"].get("nsfw"),
            "generated_caption": entry["item"].get("generated_caption"),
            "status": entry["item"].get("status", PostStatus.HIDDEN if entry["item"].get("hidden") else PostStatus.PUBLISHED),
            "report_count": len(entry["reports"]),
            "report_reasons": [{"reason": reason, "count": count} for reason, count in reasons.items()],
        })
    return presented
