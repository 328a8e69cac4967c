"""Flask commands: create-admin, seed, orders expire, payments reconcile, octo-sim."""

from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

orders_cli = AppGroup("orders", help="Order maintenance.")
payments_cli = AppGroup("payments", help="Payment maintenance.")


@click.command("create-admin")
@click.option("--username", required=True, help="Username of the admin to create or promote.")
@click.option("--password", default=None, help="Password (else ADMIN_PASSWORD, else a prompt).")
@click.option("--email", default=None, help="E-mail for a new admin.")
def create_admin(username: str, password: str | None, email: str | None) -> None:
    """Create an admin, or promote an existing user to admin."""
    from slippers.auth.models import User
    from slippers.auth.passwords import hash_password, password_problem
    from slippers.extensions import db
    from slippers.fields import USERNAME_RE

    if not USERNAME_RE.match(username):
        raise click.BadParameter("3-32 characters of A-Z a-z 0-9 _ . -", param_hint="--username")
    user = db.session.execute(
        select(User).where(User.username_key == username.lower())
    ).scalar_one_or_none()
    password = password or os.environ.get("ADMIN_PASSWORD")
    if user is None and not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if password:
        problem = password_problem(password)
        if problem:
            raise click.BadParameter(problem, param_hint="--password")
    if user is None:
        user = User(
            username=username,
            username_key=username.lower(),
            email=email.lower() if email else None,
            password_hash=hash_password(password),
            is_admin=True,
            is_active=True,
        )
        db.session.add(user)
        action = "created"
    else:
        user.is_admin = True
        user.is_active = True
        if password:
            user.password_hash = hash_password(password)
        action = "promoted"
    db.session.commit()
    click.echo(f"Admin {user.username!r} {action} (id {user.id}).")


@click.command("seed")
def seed() -> None:
    """Demo categories and slippers with images (running it twice adds nothing)."""
    from slippers.catalog.seed import seed_catalog

    summary = seed_catalog()
    click.echo(summary)


@orders_cli.command("expire")
@click.option("--ttl-minutes", type=int, default=None, help="Override ORDER_PENDING_TTL_MINUTES.")
def expire_orders(ttl_minutes: int | None) -> None:
    """Cancel pending orders older than the TTL that have no successful payment."""
    from slippers.orders.service import expire_pending_orders

    ttl = current_app.config["ORDER_PENDING_TTL_MINUTES"] if ttl_minutes is None else ttl_minutes
    count = expire_pending_orders(ttl)
    click.echo(f"Expired {count} pending order(s).")


@payments_cli.command("reconcile")
@click.option("--after-minutes", type=int, default=None, help="Override the reconcile delay.")
def reconcile_payments(after_minutes: int | None) -> None:
    """Ask OCTO about payments still open and apply the answers like callbacks."""
    from slippers.payments.service import reconcile_open_payments

    config = current_app.config
    delay = config["OCTO_RECONCILE_AFTER_MINUTES"] if after_minutes is None else after_minutes
    summary = reconcile_open_payments(delay)
    click.echo(summary)


@click.command("octo-sim")
@click.option("--host", default=None, help="Default OCTO_SIM_HOST.")
@click.option("--port", type=int, default=None, help="Default OCTO_SIM_PORT.")
def octo_sim(host: str | None, port: int | None) -> None:
    """Run the local OCTO sandbox (a separate app) for development."""
    from slippers.octo_sim import run_sim

    config = current_app.config
    host = host or config["OCTO_SIM_HOST"]
    port = port or config["OCTO_SIM_PORT"]
    settings = {
        "shop_id": config["OCTO_SHOP_ID"] or 1,
        "secret": config["OCTO_SECRET"] or "sim-secret",
        "unique_key": config["OCTO_UNIQUE_KEY"] or "sim-unique-key",
        "public_base_url": f"http://{host}:{port}",
    }
    click.echo(f"OCTO sandbox on http://{host}:{port} (shop id {settings['shop_id']})")
    run_sim(host, port, settings)


def init_cli(app: Flask) -> None:
    for command in (create_admin, seed, octo_sim, orders_cli, payments_cli):
        app.cli.add_command(command)
