"""Rewrite README.md's "Settings" section from the settings declared in code.

    .venv/bin/python deploy/dev/readme_settings.py

`tests/test_docs.py` fails when a declared setting is missing from the README; this script is
how the table is brought back in step.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.settings import settings_table_markdown as kiosk_table
from server.settings import settings_table_markdown as server_table

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## Settings\n"


def settings_section() -> str:
    return f"""{HEADING}
Server settings come from `SMILETAP_*` environment variables (the test override and defaults
sit under them in `create_app`); this table is generated from `server/settings.py`:

{server_table()}

Kiosk settings come from `SMILETAP_KIOSK_*` environment variables (`kiosk/settings.py`); the
window itself follows Kivy's `KCFG_*` variables when they are set (the default is full screen
and borderless):

{kiosk_table()}
"""


def main() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index(HEADING)
    rest = text[start + len(HEADING) :]
    following = rest.find("\n## ")
    tail = rest[following + 1 :] if following >= 0 else ""
    README.write_text(
        text[:start] + settings_section() + ("\n" + tail if tail else ""), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
