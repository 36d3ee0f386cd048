"""QR codes drawn as inline SVG (segno): device enrolment, authenticator apps."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(payload: str) -> Markup:
    """The payload as an inline SVG QR code, dark on white."""
    svg = segno.make(payload, error="m").svg_inline(scale=5, border=2, dark="#111", light="#fff")
    return Markup(svg)  # segno builds the SVG from the payload's bits: no user text in markup
