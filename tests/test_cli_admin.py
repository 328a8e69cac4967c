"""`flask create-admin`."""

from sqlalchemy import select

from slippers.auth.models import User
from slippers.extensions import db
from tests.conftest import bearer, login_tokens


def test_create_admin_with_password_option(app, client):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--username", "Chief", "--password", "Chief-Pass-2026"]
    )
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    token = login_tokens(client, "chief", "Chief-Pass-2026")["access_token"]
    assert client.get("/users/", headers=bearer(token)).status_code == 200


def test_create_admin_promotes_existing_user(app, user):
    result = app.test_cli_runner().invoke(args=["create-admin", "--username", "shopper"])
    assert result.exit_code == 0, result.output
    assert "promoted" in result.output
    assert db.session.get(User, user.id).is_admin is True


def test_create_admin_reads_env_password(app, client, monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "From-Env-Pass-1")
    result = app.test_cli_runner().invoke(args=["create-admin", "--username", "envboss"])
    assert result.exit_code == 0, result.output
    login_tokens(client, "envboss", "From-Env-Pass-1")


def test_create_admin_prompts_and_checks_policy(app):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["create-admin", "--username", "weakboss"], input="password\n" * 2)
    assert weak.exit_code != 0
    assert db.session.execute(select(User).where(User.username_key == "weakboss")).first() is None
    ok = runner.invoke(
        args=["create-admin", "--username", "promptboss"], input="Prompted-Pass-9\n" * 2
    )
    assert ok.exit_code == 0, ok.output


def test_create_admin_rejects_bad_username(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--username", "no spaces!", "--password", "Chief-Pass-2026"]
    )
    assert result.exit_code != 0
