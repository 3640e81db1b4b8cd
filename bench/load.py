"""A realistic mix of requests from many concurrent users, on loopback, bounded in time."""
import multiprocessing
import random
import threading
import time

from bench.client import Client, summary_ms

MIX = [  # (action, weight): mostly reading, some writing, a little uploading
    ("home feed", 30), ("explore", 12), ("explore page", 5), ("open post", 20), ("like", 10),
    ("comment", 5), ("search", 13), ("upload", 5),
]
# What a person does between two requests: looks at the photos, types a comment. The run without
# pauses measures capacity instead (each user sends the next request as soon as one answers).
THINK_SECONDS = (1.0, 5.0)
QUERIES = ["dog running on grass", "children playing", "a man climbing a rock", "beach at sunset",
           "two dogs in the snow", "#bench7", "people in a city street", "a girl in a pink dress"]


def _user_loop(host, port, token, post_ids, photo, deadline, results, seed, think_seconds):
    chance = random.Random(seed)  # nosec B311
    client = Client(host, port, token)
    actions, weights = zip(*MIX, strict=True)
    while time.monotonic() < deadline:
        if think_seconds:
            time.sleep(chance.uniform(*think_seconds))
        action = chance.choices(actions, weights)[0]
        post_id = chance.choice(post_ids)
        if action == "home feed":
            status, _, elapsed = client.request("GET", "/api/v1/feed?limit=20")
        elif action == "explore":
            status, _, elapsed = client.request("GET", "/api/v1/explore?limit=20")
        elif action == "explore page":
            status, _, elapsed = client.request("GET", "/explore")
        elif action == "open post":
            status, _, elapsed = client.request("GET", f"/api/v1/posts/{post_id}")
        elif action == "like":
            status, _, elapsed = client.request(chance.choice(["PUT", "DELETE"]), f"/api/v1/posts/{post_id}/like")
        elif action == "comment":
            status, _, elapsed = client.json("POST", f"/api/v1/posts/{post_id}/comments", {"text": "Lovely light!"})
        elif action == "search":
            query = chance.choice(QUERIES).replace(" ", "+").replace("#", "%23")
            status, _, elapsed = client.request("GET", f"/api/v1/search?q={query}&limit=20")
        else:
            status, _, elapsed = client.upload(photo, "benchmark upload #load")
        results.append((action, status, elapsed))


def _process(host, port, tokens, post_ids, photo, seconds, queue, seed, think_seconds):
    results: list = []
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=_user_loop,
                                args=(host, port, token, post_ids, photo, deadline, results, seed + n, think_seconds))
               for n, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def run_load(host: str, port: int, tokens: list[str], post_ids: list[str], photo: bytes, seconds: int,
             think_seconds: tuple[float, float] | None = None, processes: int = 4) -> dict:
    """len(tokens) concurrent users for `seconds`, spread over a few client processes (one GIL each).
    Each user pauses a random time between the two `think_seconds` before each request, or never."""
    queue = multiprocessing.get_context("fork").Queue()
    shares = [tokens[index::processes] for index in range(processes)]
    workers = [multiprocessing.get_context("fork").Process(
        target=_process, args=(host, port, share, post_ids, photo, seconds, queue, 1000 * index, think_seconds))
        for index, share in enumerate(shares)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    results = [item for _ in workers for item in queue.get()]
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    by_action: dict[str, dict] = {}
    for action, _ in MIX:
        rows = [row for row in results if row[0] == action]
        by_action[action] = {**summary_ms([row[2] for row in rows]),
                             "errors": sum(1 for row in rows if row[1] >= 400)}
    return {"requests": len(results), "seconds": elapsed, "rps": len(results) / elapsed,
            "errors": sum(1 for row in results if row[1] >= 400), "overall": summary_ms([row[2] for row in results]),
            "by_action": by_action, "users": len(tokens), "think_seconds": think_seconds}
