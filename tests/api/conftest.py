"""The API's tests run against the embedded lab with every bit of state in tmp_path (the e2e fixtures)."""

from tests.e2e.conftest import cli, env, world

__all__ = ["cli", "env", "world"]
