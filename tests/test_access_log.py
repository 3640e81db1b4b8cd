"""The access log of `python run.py`: a line per request where ACCESS_LOG says, and none when unset."""
from helpers import free_port, http, start_server, stop_server, wait_until


def test_requests_are_logged_only_where_access_log_says(app_config, tmp_path):
    port, output, access_log = free_port(), tmp_path / "server.log", tmp_path / "access.log"
    server = start_server(app_config, port, log_path=output, extra_env={"ACCESS_LOG": str(access_log)})
    try:
        assert http("GET", f"http://127.0.0.1:{port}/explore")[0] == 200
        wait_until(lambda: access_log.is_file() and '"GET /explore HTTP/1.1" 200' in access_log.read_text(), timeout=10)
    finally:
        stop_server(server)
    assert "GET /" not in output.read_text()  # the server's own output keeps to what it has to say

    port, output = free_port(), tmp_path / "unset.log"
    server = start_server(app_config, port, log_path=output, extra_env={"ACCESS_LOG": ""})
    try:
        assert http("GET", f"http://127.0.0.1:{port}/explore")[0] == 200
    finally:
        stop_server(server)
    assert "Booting worker" in output.read_text() and "GET /" not in output.read_text()
