"""Anonymous posts, reports, the review queue and the audit log."""
