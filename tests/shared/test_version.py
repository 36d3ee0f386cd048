"""One version string: the package metadata's, used by the kiosk, the server and the API."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import shared
from kiosk import sync
from server.api import openapi

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_one_version_everywhere() -> None:
    declared = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]
    package = shared.__version__
    assert package == version("smiletap") == declared
    assert package == sync.APP_VERSION  # what a kiosk reports at enrollment
    assert package == openapi.document()["info"]["version"]
