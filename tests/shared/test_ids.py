"""Ids: submission UUIDs made on the kiosk and readable server entity ids."""

from __future__ import annotations

import re
import uuid

import pytest

from shared.ids import new_entity_id, new_submission_id
from shared.protocol import Submission
from shared.survey import Survey


def test_submission_id_is_a_canonical_uuid4() -> None:
    text = new_submission_id()
    parsed = uuid.UUID(text)
    assert parsed.version == 4
    assert str(parsed) == text  # lower case, hyphenated: the form stored and compared


def test_submission_ids_are_unique() -> None:
    ids = {new_submission_id() for _ in range(2000)}
    assert len(ids) == 2000


def test_submission_id_fits_the_wire_model() -> None:
    assert len(new_submission_id()) <= Submission.model_fields["id"].metadata[0].max_length


@pytest.mark.parametrize("prefix", ["loc", "dev", "srv", "st"])
def test_entity_id_shape(prefix: str) -> None:
    entity = new_entity_id(prefix)
    assert re.fullmatch(rf"{prefix}_[0-9a-f]{{16}}", entity)


def test_entity_ids_are_unique() -> None:
    ids = {new_entity_id("loc") for _ in range(2000)}
    assert len(ids) == 2000


def test_entity_id_is_a_valid_survey_identifier() -> None:
    survey_id = new_entity_id("srv")
    survey = Survey.model_validate(
        {
            "id": survey_id,
            "version": 1,
            "languages": ["en"],
            "default_language": "en",
            "questions": [{"id": "q1", "kind": "csat", "scale": 5, "text": {"en": "?"}}],
            "thank_you": {"en": "Thanks"},
        }
    )
    assert survey.id == survey_id
