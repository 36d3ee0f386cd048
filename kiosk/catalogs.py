"""The kiosk's gettext catalogs: compile `.po` to `.mo` without Babel (`python -m kiosk.catalogs`).

The `.po` files under `kiosk/locale/<lang>/LC_MESSAGES/` are the source; the `.mo` files
beside them are shipped too, so a kiosk needs no build step. A test checks that every `.mo`
is what compiling its `.po` gives now.
"""

from __future__ import annotations

import ast
import struct
import sys
from array import array
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "smiletap"


def parse_po(text: str) -> dict[str, str]:
    """The msgid → msgstr pairs of a simple `.po` file (no plurals, no contexts)."""
    messages: dict[str, str] = {}
    current: dict[str, str] = {}
    field = ""

    def flush() -> None:
        if "msgid" in current and current.get("msgstr"):
            messages[current["msgid"]] = current["msgstr"]
        elif "msgid" in current and current["msgid"] == "":
            messages[""] = current.get("msgstr", "")

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            current, field = {}, "msgid"
            line = line[len("msgid ") :]
        elif line.startswith("msgstr "):
            field = "msgstr"
            line = line[len("msgstr ") :]
        current[field] = current.get(field, "") + ast.literal_eval(line)
    flush()
    return messages


def mo_bytes(messages: dict[str, str]) -> bytes:
    """A GNU `.mo` file holding `messages` (the layout Python's `gettext` reads)."""
    pairs = sorted((k.encode(), v.encode()) for k, v in messages.items())
    ids = strs = b""
    spans = []
    for key, value in pairs:
        spans.append((len(ids), len(key), len(strs), len(value)))
        ids += key + b"\0"
        strs += value + b"\0"
    key_start = 7 * 4 + 16 * len(pairs)
    value_start = key_start + len(ids)
    key_table: list[int] = []
    value_table: list[int] = []
    for id_off, id_len, str_off, str_len in spans:
        key_table += [id_len, id_off + key_start]
        value_table += [str_len, str_off + value_start]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(pairs), 7 * 4, 7 * 4 + len(pairs) * 8, 0, 0)
    return header + array("i", key_table + value_table).tobytes() + ids + strs


def po_files(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def compile_all(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Write the `.mo` beside every `.po`; the paths written."""
    written = []
    for po in po_files(locale_dir):
        mo = po.with_suffix(".mo")
        mo.write_bytes(mo_bytes(parse_po(po.read_text(encoding="utf-8"))))
        written.append(mo)
    return written


if __name__ == "__main__":
    for path in compile_all():
        print(path)
    sys.exit(0)
