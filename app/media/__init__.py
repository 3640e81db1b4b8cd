"""Photos: checking and re-encoding uploads (images), keeping them in GridFS (storage) and
serving them back (serving)."""
