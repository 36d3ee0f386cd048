"""A digest written out: subject, plain text and HTML, numbers and dates formatted for the
user's locale with Babel.

The dashboard is in English, so the digest's words are too; only the numbers and dates follow
the user's locale (`users.digest_locale`). Both parts come from Jinja templates in
`server/templates/digest/`, rendered without a request, so the scheduler can write them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_interval, format_timedelta
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, select_autoescape

from server.dashboard.present import LABELS, Metric, answer_chip
from server.digests.content import Content, LocationDigest

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "digest"
CHART_CID = "digest-chart@smiletap"
KIND_WORDS = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}
MOVE_WORDS = {"up": "up", "down": "down", "same": "no clear change"}


def valid_locale(raw: str) -> str:
    """A locale Babel knows, e.g. `en_GB` or `de-DE` (written `de_DE`); ValueError else."""
    try:
        return str(Locale.parse(raw.strip().replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError):
        raise ValueError(f"{raw!r} is not a known locale (e.g. en_GB, de_DE)") from None


@dataclass(frozen=True)
class Words:
    """Babel's formatting for one locale, as the templates call it."""

    locale: str

    def number(self, value: float, digits: int = 1) -> str:
        """A number with this many decimals, e.g. `1,234.5` or `1.234,5`."""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def count(self, value: int) -> str:
        """A whole number, e.g. `1,234`."""
        return format_decimal(value, format="#,##0", locale=self.locale)

    def percent(self, value: float) -> str:
        """A percentage given as 0..100, e.g. `87.5%` or `87,5 %`: the locale's own pattern
        (where its sign goes, with or without a space) with one decimal."""
        pattern = Locale.parse(self.locale).percent_formats[None].pattern.split(";")[0]
        one_decimal = re.sub(r"0(?=[^0-9#,.]*$)", "0.0", pattern, count=1)
        return format_percent(value / 100, format=one_decimal, locale=self.locale)

    def score(self, found: Metric) -> str:
        """A score as the dashboard shows it, in this locale."""
        if found.name in ("csat", "smiley"):
            return self.percent(found.value)
        return self.number(found.value, 2 if found.name == "ces" else 1)

    def interval(self, found: Metric) -> str:
        """A score's 95 % interval, e.g. `31.2 – 50.4`."""
        digits = 2 if found.name == "ces" else 1
        if found.name in ("csat", "smiley"):
            return f"{self.percent(found.lo)} – {self.percent(found.hi)}"
        return f"{self.number(found.lo, digits)} – {self.number(found.hi, digits)}"

    def days(self, first: date, last: date) -> str:
        """A period, e.g. `Nov 30 – Dec 6, 2026` or one day in full."""
        if first == last:
            return format_date(first, format="full", locale=self.locale)
        return format_interval(first, last, skeleton="yMMMd", locale=self.locale)

    def duration(self, seconds: float) -> str:
        """A span of time in words, e.g. `2 hours`."""
        return format_timedelta(timedelta(seconds=seconds), locale=self.locale)

    def moment(self, at: datetime, timezone: str) -> str:
        """A moment on the store's clock, short."""
        return format_datetime(at, format="short", tzinfo=ZoneInfo(timezone), locale=self.locale)


@dataclass(frozen=True)
class Written:
    """A digest ready to send: subject, both parts, and the link it points to."""

    subject: str
    text: str
    html: str
    link: str


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def subject(content: Content, words: Words) -> str:
    """The mail's subject, e.g. `Smiletap weekly digest: Nov 30 – Dec 6, 2026`."""
    period = content.period
    return f"Smiletap {content.kind} digest: {words.days(period.first, period.last)}"


def _context(content: Content, words: Words, public_url: str, image_src: str) -> dict[str, Any]:
    base = public_url.rstrip("/")
    return {
        "content": content,
        "words": words,
        "labels": LABELS,
        "moves": MOVE_WORDS,
        "title": f"{KIND_WORDS[content.kind]} digest",
        "period_text": words.days(content.period.first, content.period.last),
        "dashboard": f"{base}/dashboard/",
        "base": base,
        "image_src": image_src,
        "chip": answer_chip,
        "location_link": lambda place: _location_link(base, place),
    }


def _location_link(base: str, place: LocationDigest) -> str:
    period = place.period
    return (
        f"{base}{place.link_path}?period=custom&from={period.first.isoformat()}"
        f"&to={period.last.isoformat()}"
    )


def write(
    content: Content, locale: str, public_url: str, image_src: str = f"cid:{CHART_CID}"
) -> Written:
    """The digest as text and HTML; the HTML shows the chart from `image_src` (the inline
    part's cid: in mail, a URL in the browser preview)."""
    words = Words(locale)
    context = _context(content, words, public_url, image_src)
    return Written(
        subject=subject(content, words),
        text=_env.get_template("digest.txt").render(context),
        html=_env.get_template("digest.html").render(context),
        link=context["dashboard"],
    )
