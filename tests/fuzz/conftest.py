"""Fixtures of the schemathesis run (see fixtures.py and world.py)."""

from tests.fuzz.fixtures import octo, world_sim  # noqa: F401 - fixtures
