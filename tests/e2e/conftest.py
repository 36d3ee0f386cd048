"""Fixtures that start real processes: an X display, the server, a kiosk window."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "dev"))

from harness import ServerProcess, Xvfb  # noqa: E402

from tests.pgdb import fresh_pg_database  # noqa: E402

#: Screenshots from the end-to-end tests land here (git-ignored); look at them.
ARTIFACTS = ROOT / "artifacts" / "e2e"


#: The longest end-to-end test files, started first: side by side (pytest-xdist, deploy/dev/
#: test.sh) the run then ends on short tests instead of waiting for a long one started last.
LONGEST_FIRST = (
    "test_demo.py",
    "test_kiosk_screens.py",
    "test_backup.py",
    "test_fault_server_killed.py",
    "test_dashboard_fit_browser.py",
    "test_dashboard_admin_browser.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: a file's tests stay together and in order


@pytest.fixture(scope="session")
def xvfb() -> Iterator[Xvfb]:
    if not shutil.which("Xvfb") or not shutil.which("xdotool"):
        pytest.fail("Xvfb and xdotool are needed: run deploy/dev/install.sh")
    display = Xvfb(1920, 1280)
    yield display
    display.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server on its default SQLite file."""
    process = ServerProcess(tmp_path / "server").start()
    yield process
    process.stop()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def store_setup(server: ServerProcess) -> tuple[str, dict]:
    """A location with the demo survey assigned: (location id, survey {id, version}).

    Made in this process (`cli_here`): cold CLI processes cost a second or more each.
    """
    location = server.cli_here(
        "create-location", "--name", "Fault store", "--timezone", "Europe/Warsaw"
    )["id"]
    survey = server.cli_here(
        "create-survey", "--file", str(ROOT / "deploy/examples/demo-survey.json")
    )
    server.cli_here("assign-survey", "--location", location, "--survey", survey["id"])
    return location, survey


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the server's default SQLite file, or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    with fresh_pg_database() as url:
        yield url
