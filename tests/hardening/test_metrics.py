"""Prometheus /metrics: off by default, bearer token when set, never rate limited."""

from tests.conftest import assert_error_shape

TOKEN = "metrics-secret-abcdef"


def _count(text: str, endpoint: str, status: int) -> float:
    for line in text.splitlines():
        if (
            line.startswith("slippers_http_requests_total{")
            and f'endpoint="{endpoint}"' in line
            and f'status="{status}"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_are_off_by_default(client):
    assert_error_shape(client.get("/metrics"), 404)


def test_requests_are_counted_by_endpoint_and_status(make_app):
    client = make_app(METRICS_ENABLED=True).test_client()
    before = client.get("/metrics").get_data(as_text=True)
    client.get("/health")
    client.get("/health")
    client.get("/no/such/path")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert _count(text, "health.Liveness", 200) - _count(before, "health.Liveness", 200) == 2
    assert _count(text, "unmatched", 404) - _count(before, "unmatched", 404) == 1
    assert "slippers_http_request_duration_seconds_bucket{" in text
    assert 'endpoint="metrics"' not in text  # scraping does not count itself


def test_metrics_token_is_required_when_set(make_app):
    client = make_app(METRICS_ENABLED=True, METRICS_TOKEN=TOKEN).test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = client.get("/metrics", headers=headers)
        assert_error_shape(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_are_never_rate_limited(make_app):
    app = make_app(
        METRICS_ENABLED=True,
        RATE_LIMIT_ENABLED=True,
        RATE_LIMIT_REQUESTS=1,
        RATE_LIMIT_WINDOW_SEC=600,
    )
    client = app.test_client()
    client.get("/health")
    assert client.get("/health").status_code == 429
    for _ in range(3):
        response = client.get("/metrics")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response.headers
