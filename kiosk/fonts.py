"""Which font draws which language: Roboto (Kivy's own) for Latin and Cyrillic, Noto Sans
CJK TC for Traditional Chinese (no Kivy import here).

Kivy has no font fallback and its SDL2 text provider opens only the first face of a `.ttc`
collection — Noto CJK's first face is Japanese-shaped. So the TC faces (regular and bold) are
copied out of the collections once into `<data dir>/fonts/`, and the UI registers them as one
family. The copy is made with fontTools in a child process (see `extract_face`).
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: Kivy's bundled default font (Latin, Latin Extended, Cyrillic, Greek).
DEFAULT_FONT = "Roboto"
CJK_DIR = Path("/usr/share/fonts/opentype/noto")
TC_FAMILY = "NotoSansCJKtc"


@dataclass(frozen=True)
class FontFamily:
    """A font Kivy registers by `name`: regular and (when available) bold files."""

    name: str
    regular: str
    bold: str | None = None


ROBOTO = FontFamily(DEFAULT_FONT, DEFAULT_FONT)

#: Languages that need a face other than Roboto: (family name, face name, collections).
FACE_FOR_LANGUAGE = {
    "zh-Hant": (
        TC_FAMILY,
        "Noto Sans CJK TC",
        (CJK_DIR / "NotoSansCJK-Regular.ttc", CJK_DIR / "NotoSansCJK-Bold.ttc"),
    ),
}


class FontMissingError(Exception):
    """The font a language needs is not installed."""


def _copy_face(collection: Path, face_name: str, target: Path) -> None:
    """The copy itself, with fontTools; run in a child process by `extract_face`."""
    from fontTools.ttLib import TTCollection

    with TTCollection(str(collection), lazy=True) as fonts:
        for font in fonts:
            if font["name"].getDebugName(4) == face_name:
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_suffix(".part")
                font.save(str(partial))
                partial.replace(target)  # never leave a half-written font behind
                return
    raise FontMissingError(f"{collection} has no face {face_name!r}")


def extract_face(collection: Path, face_name: str, target: Path) -> Path:
    """Copy one face (by its full name) out of a `.ttc` into a standalone font file."""
    if target.exists():
        return target
    if not collection.exists():
        raise FontMissingError(f"{collection} is not installed")
    # fontTools reads the ~16 MB face whole; in the kiosk's own process that grew the heap by
    # ~50 MiB that glibc never gave back, so the one-time copy runs in a short-lived child.
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.fonts", str(collection), face_name, str(target)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or not target.exists():
        lines = done.stderr.strip().splitlines()
        raise FontMissingError(lines[-1] if lines else f"copying {face_name!r} failed")
    log.info("fonts: extracted %s to %s", face_name, target)
    return target


def font_for(language: str, data_dir: Path) -> FontFamily:
    """The font family Kivy should draw `language` with (Roboto when unsure)."""
    entry = FACE_FOR_LANGUAGE.get(language)
    if entry is None:
        return ROBOTO
    family, face, (regular_ttc, bold_ttc) = entry
    fonts = data_dir / "fonts"
    try:
        regular = extract_face(regular_ttc, face, fonts / f"{family}-Regular.otf")
    except (FontMissingError, OSError) as exc:
        log.warning("fonts: %s; %s shows in %s (missing glyphs)", exc, language, DEFAULT_FONT)
        return ROBOTO
    try:
        bold: Path | None = extract_face(bold_ttc, f"{face} Bold", fonts / f"{family}-Bold.otf")
    except (FontMissingError, OSError) as exc:
        log.warning("fonts: %s; bold %s text is drawn from the regular face", exc, language)
        bold = None
    return FontFamily(family, str(regular), str(bold) if bold else None)


def chip_font_for(language: str, text: str, data_dir: Path) -> FontFamily:
    """A font for `text` alone (a language chip's own name, "繁體中文"), cut from the
    language's face: a chip shown while another language is current then opens a file of a
    few KiB instead of the whole CJK face (megabytes in the kiosk's memory). Roboto for a
    language that needs no other face; the whole face when the cut fails."""
    family = font_for(language, data_dir)
    if family is ROBOTO:
        return family
    glyphs = "".join(sorted(set(text)))
    name = f"{family.name}-chip-{hashlib.sha256(glyphs.encode()).hexdigest()[:12]}"
    target = data_dir / "fonts" / f"{name}.otf"
    if not target.exists():
        partial = target.with_suffix(".partial")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "fontTools.subset",
                family.regular,  # a chip not selected (not current) is not bold
                f"--text={glyphs}",
                f"--output-file={partial}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0 or not partial.exists():
            log.warning("fonts: no chip font for %s: %s", language, done.stderr.strip()[-300:])
            return family
        partial.replace(target)
    return FontFamily(name, str(target))


def main(argv: list[str]) -> int:
    """`python -m kiosk.fonts COLLECTION FACE TARGET`: the child side of `extract_face`."""
    collection, face_name, target = argv
    try:
        _copy_face(Path(collection), face_name, Path(target))
    except (FontMissingError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
