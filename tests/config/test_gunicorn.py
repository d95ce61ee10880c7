"""The server as production runs it (config/gunicorn.py, gevent workers): hundreds of clients
that send their headers a byte at a time do not keep a city's page from others; its workers'
metrics add up at /metrics and each request is one JSON line in its log."""
import json
import socket
import threading

import pytest

from tests.support.servers import get, gunicorn

SLOW_CLIENTS = 200
# Never the blank line that ends the headers.
PARTIAL_REQUEST = b"GET / HTTP/1.1\r\nHost: alpha.test\r\nUser-Agent: slow"
TOKEN = "gunicorn-test-metrics-token"


@pytest.fixture()
def server(database_url, cities, tmp_path):
    environment = {"DATABASE_URL": database_url, "CIVIC_ENV": "development",
                   "PLATFORM_HOST": "platform.test", "WEB_WORKERS": "2", "METRICS_TOKEN": TOKEN,
                   "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    with gunicorn(environment, tmp_path / "gunicorn.log") as (port, _process):
        yield port


def test_a_page_is_answered_while_200_clients_send_their_headers_a_byte_at_a_time(server):
    slow = [socket.create_connection(("127.0.0.1", server), timeout=10)
            for _ in range(SLOW_CLIENTS)]
    stop = threading.Event()
    dropped = []

    def trickle():
        for position in range(len(PARTIAL_REQUEST)):
            for sock in slow:
                try:
                    sock.sendall(PARTIAL_REQUEST[position:position + 1])
                except OSError:
                    dropped.append(sock)
            if stop.wait(0.05):
                return

    trickler = threading.Thread(target=trickle)
    trickler.start()
    try:
        # A generous timeout, not a timed goal: with sync workers this request waits forever.
        status, _headers, body = get(server, "/", "alpha.test", timeout=15)
        assert status == 200
        assert "阿尔法市".encode() in body
        assert trickler.is_alive()  # the slow clients were still sending meanwhile
    finally:
        stop.set()
        trickler.join()
        for sock in slow:
            sock.close()
    assert not dropped


def test_the_workers_metrics_add_up_and_each_request_is_one_json_log_line(server, tmp_path):
    pages = 20  # over new connections: both workers take some
    ids = {get(server, "/", "beta.test")[1]["X-Request-ID"] for _ in range(pages)}
    status, _headers, body = get(server, "/metrics", "platform.test",
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    counted = [line for line in body.decode().splitlines()
               if line.startswith('civic_city_requests_total{city="beta"}')]
    assert counted == [f'civic_city_requests_total{{city="beta"}} {float(pages)}']
    logged = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()
              if line.startswith("{") and '"civic.request"' in line]
    beta = [line for line in logged if line["city"] == "beta"]
    assert {line["request_id"] for line in beta} == ids and len(beta) == pages
    assert {(line["route"], line["status"], line["user"]) for line in beta} == {
        ("/", 200, "anonymous")}
