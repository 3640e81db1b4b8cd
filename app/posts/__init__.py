"""Posts: upload, storage, editing, deletion, and the photos themselves."""
