"""E-mail addresses and phone numbers in comments, masked at ingest."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server import ingest
from server.db import get_engine
from server.masking import EMAIL_MASK, PHONE_MASK, country_of_timezone, mask_contacts
from server.store.schema import answers, submissions
from tests.server.conftest import Smiletap


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("write to anna.k+shop@example.co.uk please", "PL", f"write to {EMAIL_MASK} please"),
        ("Mail: JAN@Przykład.pl.", "PL", f"Mail: {EMAIL_MASK}."),
        ("call me 601 234 567", "PL", f"call me {PHONE_MASK}"),
        ("tel. +48 601-234-567!", "PL", f"tel. {PHONE_MASK}!"),
        ("UK friend: +44 20 7946 0958", "PL", f"UK friend: {PHONE_MASK}"),
        ("ring (415) 555-0132 after 5", "US", f"ring {PHONE_MASK} after 5"),
        ("from abroad 0044 20 7946 0958", "PL", f"from abroad {PHONE_MASK}"),
        ("+44 20 7946 0958 works anywhere", None, f"{PHONE_MASK} works anywhere"),
        ("a@b.cd and 601234567", "PL", f"{EMAIL_MASK} and {PHONE_MASK}"),
    ],
)
def test_contacts_are_masked(text: str, region: str | None, expected: str) -> None:
    assert mask_contacts(text, region) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 12345 was late",
        "waited 45 minutes, paid 129.99 zł",
        "on 2026-12-07 at 14:30",
        "table 7, receipt no. 0042",
        "two @ the counter, cc@ nothing",
        "user@localhost is not an address",
        "the (415) 555-0132 style is American",  # not a valid Polish number
    ],
)
def test_other_text_is_left_alone(text: str) -> None:
    assert mask_contacts(text, "PL") == text


def test_country_of_timezone() -> None:
    assert country_of_timezone("Europe/Warsaw") == "PL"
    assert country_of_timezone("America/Los_Angeles") == "US"
    assert country_of_timezone("UTC") is None
    assert country_of_timezone("Not/AZone") is None


_CONTACTISH = st.text(alphabet="0123456789 +-().@abc.xyz\u0660\uff11", max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(st.text(max_size=200), _CONTACTISH),
    region=st.sampled_from([None, "PL", "US", "DE", "GB", "IN", "ZZ"]),
)
def test_masking_never_raises_and_is_idempotent(text: str, region: str | None) -> None:
    once = mask_contacts(text, region)
    assert mask_contacts(once, region) == once


def test_long_text_without_at_sign_is_fast() -> None:
    text = "a" * 2000 + "@"  # the worst case for a naive address pattern
    assert mask_contacts(text, "PL") == text


def _stored(app: Flask, submission_id: str) -> tuple[str | None, str]:
    s, a = submissions.c, answers.c
    with get_engine(app).connect() as conn:
        row = conn.execute(
            select(a.comment, s.payload)
            .join(submissions, a.submission_id == s.id)
            .where(s.id == submission_id)
        ).one()
    return row.comment, row.payload


def _with_comment(kiosk, comment: str) -> dict:
    item = kiosk.item(2)
    item["answers"][0]["comment"] = comment
    return item


def test_ingest_masks_comments_for_the_location_country(app: Flask, smiletap: Smiletap) -> None:
    kiosk = smiletap.setup("Europe/Warsaw")
    typed = "Order 12345 cold. Call 601 234 567 or write ola@example.pl, or +44 20 7946 0958"
    item = _with_comment(kiosk, typed)
    assert kiosk.submit([item]).json["results"][0]["status"] == "accepted"
    comment, payload = _stored(app, item["id"])
    assert comment == f"Order 12345 cold. Call {PHONE_MASK} or write {EMAIL_MASK}, or {PHONE_MASK}"
    assert json.loads(payload)["answers"][0]["comment"] == comment
    assert "601" not in payload and "ola@" not in payload
    # The kiosk resends the tap as typed: the same content, so a duplicate.
    assert kiosk.submit([item]).json["results"][0]["status"] == "duplicate"


def test_numbers_of_another_country_format_are_not_guessed(app: Flask, smiletap: Smiletap) -> None:
    kiosk = smiletap.setup("America/New_York")
    item = _with_comment(kiosk, "call (415) 555-0132 or 601 234 567")
    kiosk.submit([item])
    # An American number is masked in New York; the Polish national form is no valid US one.
    assert _stored(app, item["id"])[0] == f"call {PHONE_MASK} or 601 234 567"


def test_a_tap_stored_before_masking_is_a_duplicate_when_resent(
    app: Flask, smiletap: Smiletap, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk = smiletap.setup()
    item = _with_comment(kiosk, "ring 601 234 567")
    with monkeypatch.context() as before_masking:
        before_masking.setattr(ingest, "mask_contacts", lambda text, region: text)
        assert kiosk.submit([item]).json["results"][0]["status"] == "accepted"
    assert kiosk.submit([item]).json["results"][0]["status"] == "duplicate"
    changed = {**item, "answers": [{**item["answers"][0], "value": 1}]}
    assert kiosk.submit([changed]).json["results"][0]["reason"] == "id_conflict"
