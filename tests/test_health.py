from tests.conftest import assert_error_shape


def test_liveness_answers_without_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readiness_checks_database(client, app):
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    if app.config["REDIS_URL"]:
        assert body["checks"]["redis"] == "ok"


def test_readiness_reports_broken_redis(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    body = assert_error_shape(client.get("/health/ready"), 503)
    assert body["errors"]["redis"] == "unavailable"
    assert "redis" in body["message"]
