"""Describing photos after upload: caption (the alt text), tags, NSFW score and embeddings,
written by a background job so the upload itself stays fast."""
