"""Background jobs kept in the MongoDB `jobs` collection.

Any process enqueues; worker threads in any process claim a job atomically with a lease. A
worker that dies mid-job simply lets its lease run out and another worker takes the job over.
Failures are retried with exponential backoff, then the job is marked failed. What each kind of
job does is one table, given by create_app: the queue itself knows no feature.
"""
from app.core.jobs.queue import JobHandler, enqueue, register_handlers

__all__ = ["JobHandler", "enqueue", "register_handlers"]
