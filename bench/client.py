"""A keep-alive HTTP client for load generation (stdlib only, one connection per thread)."""
import http.client
import json
import time
import uuid


class Client:
    def __init__(self, host: str, port: int, token: str | None = None):
        self.host, self.port, self.token = host, port, token
        self.connection = http.client.HTTPConnection(host, port, timeout=30)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        started = time.perf_counter()
        reused = self.connection.sock is not None
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            if reused and isinstance(error, ConnectionError):
                # The server closed the idle keep-alive connection (gunicorn waits 2 s); as a
                # browser does, send again on a new one. The elapsed time includes both tries.
                status, payload, _ = self.request(method, path, body, headers)
                return status, payload, time.perf_counter() - started
            return 599, b"", time.perf_counter() - started
        return response.status, payload, time.perf_counter() - started

    def json(self, method: str, path: str, data=None):
        body = json.dumps(data).encode() if data is not None else None
        status, payload, elapsed = self.request(method, path, body, {"Content-Type": "application/json"} if body else None)
        return status, (json.loads(payload) if payload and payload[:1] in b"{[" else None), elapsed

    def upload(self, photo: bytes, caption: str):
        boundary = uuid.uuid4().hex
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n{caption}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="p.jpg"\r\n'
                f"Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
        status, payload, elapsed = self.request("POST", "/api/v1/posts", body,
                                                {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return status, (json.loads(payload) if status == 201 else None), elapsed


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary_ms(values: list[float]) -> dict:
    return {"n": len(values), "p50": percentile(values, 0.5) * 1000, "p95": percentile(values, 0.95) * 1000,
            "p99": percentile(values, 0.99) * 1000}
