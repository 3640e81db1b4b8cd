"""Background jobs kept in the MongoDB `jobs` collection.

Any process enqueues; worker threads in any process claim a job atomically with a lease. A
worker that dies mid-job simply lets its lease run out and another worker takes the job over.
Failures are retried with exponential backoff, then the job is marked failed.
"""
from app.jobs.queue import enqueue, register_handler

__all__ = ["enqueue", "register_handler"]
