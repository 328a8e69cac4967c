"""Fixtures shared by the whole-API tests (tests/fuzz and tests/test_permissions.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.world import octo_settings
from tests.octo_sim_server import SimServer, running_sim


@pytest.fixture(scope="session")
def world_sim() -> Iterator[SimServer]:
    """One OCTO sandbox for the session: each world's payment is its own row there."""
    with running_sim() as server:
        yield server


@pytest.fixture
def octo(app, world_sim, monkeypatch, tmp_path) -> SimServer:
    """The app talks to the sandbox; uploads go to this test's own folder."""
    for name, value in octo_settings(world_sim).items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    return world_sim
