"""Contact details typed into comments, masked before they are stored.

A customer sometimes leaves an e-mail address or a phone number in a comment ("call me back
on …"). Ingest replaces them with `[e-mail]` and `[phone]`, so what the dashboard, exports and
digests show holds no way to reach a person.

- E-mail addresses: a local part, `@`, and a domain of dot-separated labels ending in a name
  of letters (`anna.k+shop@example.co.uk`, Unicode domains too). A match starts only where a
  run of address characters starts, so a long run without `@` costs one pass, not one per
  character.
- Phone numbers: Google's libphonenumber (the `phonenumbers` package), `PhoneNumberMatcher`
  at `Leniency.VALID`: numbers valid in the store's country as people write them there
  ("601 234 567" in Poland, "(415) 555-0132" in the USA), and international ones with `+` or
  the country's exit code anywhere. Digits that are no valid number ("order 12345", a price,
  a date) stay. The store's country comes from its time zone (`country_of_timezone`).

Masking is idempotent — masking masked text changes nothing — and never raises on any text.
"""

from __future__ import annotations

import functools
import importlib.resources
import re

import phonenumbers

EMAIL_MASK = "[e-mail]"
PHONE_MASK = "[phone]"

_ADDRESS_CHARS = r"[\w.!#$%&'*+/=?^`{|}~-]"
_EMAIL = re.compile(
    rf"(?<!{_ADDRESS_CHARS}){_ADDRESS_CHARS}+@"
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}(?![\w-])"
)
#: Digit groups the matcher tries per comment: far more than any comment holds numbers, and a
#: bound on the worst case (2,000 characters of digits: 3 ms instead of 17 ms).
_MAX_CANDIDATES = 100
#: How many passes `mask_contacts` makes at most; one is enough for every text seen so far
#: (the masks hold no digits and no `@`), the rest only guard idempotence.
_MAX_PASSES = 3


@functools.cache
def _zone_countries() -> dict[str, str]:
    """IANA zone → ISO 3166 country, from the tz database's zone.tab (the tzdata package)."""
    text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            found[parts[2]] = parts[0]
    return found


def country_of_timezone(timezone: str) -> str | None:
    """The country of a location's IANA time zone (`Europe/Warsaw` → `PL`), or None when the
    zone belongs to no single country (`UTC`, `Etc/GMT+2`) or is an old alias."""
    return _zone_countries().get(timezone)


def _mask_emails(text: str) -> str:
    if "@" not in text:
        return text
    return _EMAIL.sub(EMAIL_MASK, text)


def _mask_phones(text: str, region: str | None) -> str:
    if not any(ch.isdigit() for ch in text):
        return text
    matches = list(
        phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID, max_tries=_MAX_CANDIDATES
        )
    )
    for match in reversed(matches):  # from the end, so earlier offsets stay right
        text = text[: match.start] + PHONE_MASK + text[match.end :]
    return text


def _mask_once(text: str, region: str | None) -> str:
    return _mask_phones(_mask_emails(text), region)


def mask_contacts(text: str, region: str | None) -> str:
    """The text with e-mail addresses and phone numbers (valid in `region`, an ISO country
    code, or international) replaced by masks."""
    for _ in range(_MAX_PASSES):
        masked = _mask_once(text, region)
        if masked == text:
            break
        text = masked
    return text
