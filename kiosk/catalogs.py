"""The kiosk's gettext catalogs: compile `.po` to `.mo` with Babel (`python -m kiosk.catalogs`).

The `.po` files under `kiosk/locale/<lang>/LC_MESSAGES/` are the source; the `.mo` files
beside them are shipped too, so a kiosk needs no build step. A test checks that every `.mo`
is what compiling its `.po` gives now.

Compiling is reproducible: our `.po` files carry no POT-Creation-Date, for which Babel would
write the time of compiling into the `.mo` header, so a fixed date stands in. (The header also
names the Babel version: after upgrading Babel, compile again.) Babel is imported only by the
functions that need it, because the kiosk imports this module at run time for `DOMAIN` and
`LOCALE_DIR` alone.
"""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "smiletap"
#: The POT-Creation-Date of a catalog whose `.po` gives none.
UNDATED = datetime(2000, 1, 1, tzinfo=UTC)


def read_catalog(text: str) -> Catalog:
    """The catalog in a `.po` file's text; a malformed entry raises Babel's PoFileError."""
    from babel.messages.pofile import read_po

    catalog = read_po(io.StringIO(text), abort_invalid=True)
    if "POT-Creation-Date:" not in text:
        catalog.creation_date = UNDATED
    return catalog


def parse_po(text: str) -> dict[str, str]:
    """The msgid → msgstr pairs a `.po` file compiles to, with its header under ""."""
    return {
        str(message.id): str(message.string)
        for message in read_catalog(text)
        if message.id == "" or (message.string and not message.fuzzy)
    }


def mo_bytes(messages: dict[str, str]) -> bytes:
    """A GNU `.mo` file holding `messages` (the layout Python's `gettext` reads)."""
    from babel.messages.catalog import Catalog

    catalog = Catalog(creation_date=UNDATED)  # a header under "" replaces these defaults
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    return _mo(catalog)


def _mo(catalog: Catalog) -> bytes:
    from babel.messages.mofile import write_mo

    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def po_files(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every catalog source, `<lang>/LC_MESSAGES/smiletap.po`, by language."""
    return sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def compile_all(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Write the `.mo` beside every `.po`; the paths written."""
    written = []
    for po in po_files(locale_dir):
        mo = po.with_suffix(".mo")
        mo.write_bytes(_mo(read_catalog(po.read_text(encoding="utf-8"))))
        written.append(mo)
    return written


if __name__ == "__main__":
    for path in compile_all():
        print(path)
    sys.exit(0)
