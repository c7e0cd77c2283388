"""Fixtures shared by every test: ``pytester`` for the pytest plugin's own tests."""

pytest_plugins = ["pytester"]
