"""The survey editor's form: round trip, named errors, add/remove/move rows, new surveys."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from server.dashboard import survey_form
from server.store import surveys
from shared.survey import RULES, SurveyDefinition
from tests.server.conftest import SURVEY
from tests.server.dashboard.conftest import Chain, csrf_token

EDITOR = "/dashboard/admin/surveys/"


class FormReader(HTMLParser):
    """The fields one form would send, as a browser sends them (checked boxes, chosen options)."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._chosen: str | None = None
        self._first_option: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if tag == "option":
            if self._select is not None:
                self._option(a)
            return
        if "name" not in a or not (self.inside or a.get("form") == self.form_id):
            return
        if tag == "input" and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "on")))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""
        elif tag == "select":
            self._select, self._chosen, self._first_option = a["name"], None, None

    def _option(self, a: dict[str, str]) -> None:
        if self._first_option is None:
            self._first_option = a.get("value", "")
        if "selected" in a:
            self._chosen = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            # HTML drops one newline right after <textarea>.
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            self.fields.append((self._select, self._chosen or self._first_option or ""))
            self._select = None


def read_form(client: FlaskClient, path: str, form_id: str = "survey-form") -> dict[str, str]:
    """The form's fields on this page (one value per name is all this form uses)."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return fields_of(page.get_data(True), form_id)


def fields_of(html: str, form_id: str = "survey-form") -> dict[str, str]:
    reader = FormReader(form_id)
    reader.feed(html)
    return dict(reader.fields)


def stored(chain: Chain, survey_id: str) -> tuple[int, dict[str, Any]]:
    """The newest version of a survey: (version, definition as JSON data)."""
    with chain.app.app_context():
        from server.db import get_db

        conn = get_db()
        with conn.begin():
            found = surveys.latest(conn, survey_id)
    assert found is not None
    body = found.model_dump(mode="json")
    return body.pop("version"), {k: v for k, v in body.items() if k != "id"}


def send(client: FlaskClient, path: str, fields: dict[str, str], action: str = "save") -> Any:
    return client.post(path, data={**fields, "action": action})


def test_the_form_round_trips_a_survey_unchanged(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{EDITOR}{chain.kiosk.survey_id}"
    version, before = stored(chain, chain.kiosk.survey_id)
    fields = read_form(admin, page)
    assert fields["q-0-text-1"] == "Jak było?" and fields["q-1-kind"] == "nps-11"
    saved = send(admin, page, fields)
    assert saved.status_code == 302
    after_version, after = stored(chain, chain.kiosk.survey_id)
    assert (after_version, after) == (version + 1, before)
    # A text with line breaks survives too (it is shown in a text box, not a one-line input).
    with_breaks = copy.deepcopy(SURVEY)
    with_breaks["thank_you"]["en"] = "\nThanks!\nSee you soon "
    survey_id = chain.smiletap.survey(with_breaks)
    assert (
        send(admin, f"{EDITOR}{survey_id}", read_form(admin, f"{EDITOR}{survey_id}")).status_code
        == 302
    )
    assert stored(chain, survey_id) == (
        2,
        SurveyDefinition.model_validate(with_breaks).model_dump(mode="json"),
    )


@pytest.mark.parametrize(
    ("field", "value", "message", "invalid"),
    [
        ("q-1-text-1", "", "Question 2, text (pl): required", "q-1-text-1"),
        ("q-0-r-1-id", "no spaces", "Question 1, reason 2, id: letters, digits", "q-0-r-1-id"),
        (
            "q-0-when_at_most",
            "9",
            "Question 1, reasons for answers up to: must be within 1..5",
            "q-0-when_at_most",
        ),
        (
            "q-0-when_at_most",
            "two",
            "Question 1, reasons for answers up to: a whole number",
            "q-0-when_at_most",
        ),
        ("q-1-id", "q1", "Questions: each question needs its own id", None),
        ("lang-1", "PL", "Language 2: a language code such as en", "lang-1"),
        ("lang-1", "en", "Languages: each language only once", None),
        ("staff_prompt", "fixed", "Fixed staff id: required", "fixed_staff_id"),
        ("thank_you-0", "  ", "Thank-you text (en): required", "thank_you-0"),
        ("q-0-kind", "smiley-6", "Question 1, kind: scale 6 is not allowed", "q-0-kind"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_saved(
    chain: Chain, field: str, value: str, message: str, invalid: str | None
) -> None:
    admin = chain.client("admin")
    page = f"{EDITOR}{chain.kiosk.survey_id}"
    fields = read_form(admin, page)
    answer = send(admin, page, {**fields, field: value})
    assert answer.status_code == 400
    html = answer.get_data(True)
    assert 'id="survey-errors"' in html and message in html
    if invalid:  # the field itself is marked for the eye and for screen readers
        assert re.search(
            rf'<(input|textarea|select) name="{invalid}"[^>]*aria-invalid="true"', html
        )
    # What was typed stays in the form.
    assert fields_of(html)[field] == (value if value.strip() else "")
    assert stored(chain, chain.kiosk.survey_id)[0] == 1


def test_add_a_language_a_question_and_a_reason_then_save(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{EDITOR}{chain.kiosk.survey_id}"
    fields = read_form(admin, page)

    added = send(admin, page, fields, "add-language")
    assert added.status_code == 200
    fields = fields_of(added.get_data(True))
    assert fields["lang-2"] == "" and fields["q-0-text-2"] == "" and fields["thank_you-2"] == ""
    fields["lang-2"] = "ru"

    fields = fields_of(send(admin, page, fields, "add-question").get_data(True))
    assert fields["q-2-id"] == "q3" and fields["q-2-kind"] == "smiley-5"
    fields = fields_of(send(admin, page, fields, "add-reason:1").get_data(True))
    assert fields["q-1-r-0-id"] == "r1" and fields["q-1-follow_up"] == "1"

    # Saving with the new texts still empty names each of them.
    refused = send(admin, page, fields)
    assert refused.status_code == 400
    assert "Question 1, text (ru): required" in refused.get_data(True)
    assert "Question 2, reason 1 (en): required" in refused.get_data(True)

    empty = [name for name, value in fields.items() if re.search(r"text|thank", name) and not value]
    texts = {name: f"text {name}" for name in empty}
    fields.update(texts, **{"q-1-when_at_most": "6", "q-1-r-0-id": "price", "q-2-comment": "1"})
    assert send(admin, page, fields).status_code == 302
    version, body = stored(chain, chain.kiosk.survey_id)
    assert version == 2 and body["languages"] == ["en", "pl", "ru"]
    assert [q["id"] for q in body["questions"]] == ["q1", "q2", "q3"]
    nps = body["questions"][1]
    assert nps["follow_up"]["when_at_most"] == 6
    assert nps["follow_up"]["reasons"] == [
        {
            "id": "price",
            "text": {
                "en": "text q-1-r-0-text-0",
                "pl": "text q-1-r-0-text-1",
                "ru": "text q-1-r-0-text-2",
            },
        }
    ]
    assert body["questions"][2]["comment"] is True and body["questions"][2]["follow_up"] is None
    assert body["questions"][0]["text"] == {
        "en": "How was it?",
        "pl": "Jak było?",
        "ru": "text q-0-text-2",
    }
    config = chain.kiosk.get("/api/v1/config").get_json()["survey"]
    assert config["version"] == 2 and config["languages"] == ["en", "pl", "ru"]


def test_remove_and_move_rows(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{EDITOR}{chain.kiosk.survey_id}"
    fields = read_form(admin, page)
    fields["default_language"] = "1"  # pl
    fields = fields_of(send(admin, page, fields, "remove-language:0").get_data(True))
    assert fields["lang-0"] == "pl" and "lang-1" not in fields and fields["default_language"] == "0"
    assert fields["q-0-text-0"] == "Jak było?"
    fields = fields_of(send(admin, page, fields, "remove-reason:0:0").get_data(True))
    assert fields["q-0-r-0-id"] == "rude" and "q-0-r-1-id" not in fields
    fields = fields_of(send(admin, page, fields, "down-question:0").get_data(True))
    assert (fields["q-0-id"], fields["q-1-id"]) == ("q2", "q1")
    fields.pop("q-1-follow_up")  # no reasons for the smiley any more
    assert send(admin, page, fields).status_code == 302
    _version, body = stored(chain, chain.kiosk.survey_id)
    assert body["languages"] == ["pl"] and body["default_language"] == "pl"
    assert [q["id"] for q in body["questions"]] == ["q2", "q1"]
    assert body["questions"][1]["follow_up"] is None
    assert body["thank_you"] == {"pl": "Dziękujemy!"}


def test_name_and_staff_prompt_are_edited_and_listed(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{EDITOR}{chain.kiosk.survey_id}"
    fields = read_form(admin, page)
    assert fields["name"] == "" and fields["staff_prompt"] == "ask"
    fields.update(name="Exit survey", staff_prompt="fixed", fixed_staff_id="st_anna")
    assert send(admin, page, fields).status_code == 302
    _version, body = stored(chain, chain.kiosk.survey_id)
    assert (body["name"], body["staff_prompt"], body["fixed_staff_id"]) == (
        "Exit survey",
        "fixed",
        "st_anna",
    )
    listing = admin.get(EDITOR).get_data(True)
    assert "Exit survey" in listing and chain.kiosk.survey_id in listing


def test_the_preview_follows_the_form_in_every_language(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{EDITOR}{chain.kiosk.survey_id}"
    html = admin.get(page).get_data(True)
    assert html.count('data-preview-lang="') == 2
    shown = html.split('data-preview-lang="en"')[1].split('data-preview-lang="pl"')[0]
    assert "How was it?" in shown and shown.count('class="face ') == 5
    assert shown.count('class="key"') == 11 and "Waiting" in shown and "Thanks!" in shown
    assert 'data-preview-lang="pl" data-preview-index="1" hidden' in html
    fields = read_form(admin, page)
    fields.update(
        {"q-0-kind": "smiley-3", "q-0-text-1": "Jak minęła wizyta?", "preview_language": "pl"}
    )
    answer = send(admin, page, fields, "preview")
    assert answer.status_code == 200
    html = answer.get_data(True)
    polish = html.split('data-preview-lang="pl"')[1]
    assert "Jak minęła wizyta?" in polish and polish.count('class="face ') == 3
    assert 'data-preview-lang="en" data-preview-index="0" hidden' in html
    assert stored(chain, chain.kiosk.survey_id)[0] == 1  # a preview saves nothing


def test_new_survey_from_the_form(chain: Chain) -> None:
    admin = chain.client("admin")
    fields = read_form(admin, f"{EDITOR}new")
    assert fields["q-0-text-0"] == "How was your visit today?"
    fields["name"] = "Checkout"
    made = send(admin, EDITOR, fields)
    assert made.status_code == 302
    survey_id = made.headers["Location"].rsplit("/", 1)[1]
    assert stored(chain, survey_id)[1]["name"] == "Checkout"
    fields["q-0-text-0"] = ""
    refused = send(admin, EDITOR, fields)
    assert refused.status_code == 400 and "Question 1, text (en): required" in refused.get_data(
        True
    )


def test_json_tab_imports_and_exports_through_the_same_save(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{EDITOR}{chain.kiosk.survey_id}"
    tab = admin.get(f"{page}/json").get_data(True)
    assert 'id="edit-survey"' in tab and "&#34;languages&#34;" in tab
    exported = admin.get(f"{page}/survey.json")
    assert exported.headers["Content-Disposition"].startswith("attachment;")
    body = json.loads(exported.get_data(True))
    body["name"] = "Imported"
    token = csrf_token(admin, f"{page}/json")
    upload = {"csrf_token": token, "definition": "", "file": (_bytes(body), "survey.json")}
    assert admin.post(page, data=upload, content_type="multipart/form-data").status_code == 302
    assert stored(chain, chain.kiosk.survey_id)[1]["name"] == "Imported"
    bad = {"csrf_token": token, "definition": "", "file": (_bytes({"languages": []}), "x.json")}
    refused = admin.post(page, data=bad, content_type="multipart/form-data")
    assert (
        refused.status_code == 400
        and "languages: List should have at least 1 item" in refused.get_data(True)
    )


def _bytes(body: dict[str, Any]) -> Any:
    import io

    return io.BytesIO(json.dumps(body).encode())


def test_an_empty_or_odd_form_is_a_named_400_never_a_crash(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{EDITOR}{chain.kiosk.survey_id}"
    token = {"csrf_token": csrf_token(admin, page)}
    empty = send(admin, page, token)
    assert empty.status_code == 400 and "Languages: add at least one" in empty.get_data(True)
    odd = {**token, "q-0-id": "q 1", "q-0-kind": "emoji-9", "default_language": "7"}
    assert send(admin, page, odd, "add-reason:0").status_code == 200
    answer = send(admin, page, odd)
    assert answer.status_code == 400 and "Question 1, kind: choose one" in answer.get_data(True)
    assert send(admin, f"{EDITOR}srv_nope", read_form(admin, page)).status_code == 404
    assert stored(chain, chain.kiosk.survey_id)[0] == 1


@pytest.mark.parametrize("path", ["new", "{srv}", "{srv}/json", "{srv}/survey.json"])
def test_a_manager_gets_403(chain: Chain, path: str) -> None:
    manager = chain.client("manager")
    url = EDITOR + path.format(srv=chain.kiosk.survey_id)
    assert manager.get(url).status_code == 403
    token = csrf_token(manager, "/dashboard/")
    fields = {"csrf_token": token, "q-0-id": "q1", "action": "save"}
    assert manager.post(EDITOR + chain.kiosk.survey_id, data=fields).status_code == 403
    assert manager.post(EDITOR, data=fields).status_code == 403


ACTIONS = [
    "add-language",
    "remove-language:0",
    "add-question",
    "remove-question:0",
    "up-question:1",
    "add-reason:0",
    "remove-reason:0:0",
]


def test_actions_out_of_range_change_nothing() -> None:
    draft = survey_form.draft_from_survey(SurveyDefinition.model_validate(SURVEY))
    for action in (
        "remove-question:9",
        "remove-reason:0:9",
        "up-question:0",
        "down-question:1",
        "remove-language:7",
        "add-reason:x",
        "explode",
    ):
        assert survey_form.apply(copy.deepcopy(draft), action) == draft


#: A valid form for a one-language, one-question survey, and the names a fuzzer may change.
BASE_FORM = {
    "lang-0": "en",
    "default_language": "0",
    "q-0-id": "q1",
    "q-0-kind": "smiley-5",
    "q-0-text-0": "How?",
    "q-0-follow_up": "1",
    "q-0-when_at_most": "2",
    "q-0-follow_up-text-0": "Why?",
    "q-0-r-0-id": "wait",
    "q-0-r-0-text-0": "Waiting",
    "staff_prompt": "none",
    "thank_you-0": "Thanks",
}
FUZZED = [*BASE_FORM, "lang-1", "name", "fixed_staff_id", "q-1-id", "q-1-kind", "q-0-r-1-id"]


def test_the_base_form_is_valid() -> None:
    definition, problems = survey_form.validate(survey_form.draft_from_form(MultiDict(BASE_FORM)))
    assert problems == [] and definition is not None


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FUZZED), st.text(max_size=6)), st.sampled_from(ACTIONS))
def test_any_form_gives_a_survey_or_named_problems(changes: dict[str, str], action: str) -> None:
    draft = survey_form.draft_from_form(MultiDict({**BASE_FORM, **changes}))
    definition, problems = survey_form.validate(draft)
    assert (definition is None) == bool(problems)
    assert all(p.label and p.message for p in problems)
    survey_form.validate(survey_form.apply(draft, action))


#: Values that look like numbers to str.isdigit() but not to int(), and other odd input.
ODD_VALUES = ["²", "١", "-²", "٣", "1²", "-1", "+1", " 1", "99999999999", "0x1", "", "\x00", "\n"]
ODD_ACTIONS = ["add-reason:²", "remove-language:١", "up-question:-1", "remove-reason:0:²"]


def test_fuzzing_every_field_of_the_editor_never_gives_a_server_error(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{EDITOR}{chain.kiosk.survey_id}"
    fields = read_form(admin, page)
    names = sorted(name for name in fields if name != "csrf_token")
    value = st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=6))

    @settings(max_examples=150, deadline=None, database=None)
    @given(
        st.dictionaries(st.sampled_from(names), value, min_size=1),
        st.sampled_from(["save", "preview", *ACTIONS, *ODD_ACTIONS]),
    )
    def one_form(changes: dict[str, str], action: str) -> None:
        answer = send(admin, page, {**fields, **changes}, action)
        assert answer.status_code in (200, 302, 400), (changes, action, answer.status_code)

    one_form()


@pytest.mark.parametrize(
    ("changes", "label", "input_name"),
    [
        ({"q-0-when_at_most": "9"}, "Question 1, reasons for answers up to", "q-0-when_at_most"),
        ({"q-0-kind": "smiley-6"}, "Question 1, kind", "q-0-kind"),
        ({"staff_prompt": "fixed"}, "Fixed staff id", "fixed_staff_id"),
        ({"q-1-id": "q1", "q-1-kind": "nps-11", "q-1-text-0": "Rec?"}, "Questions", None),
    ],
)
def test_problems_are_mapped_by_rule_code_not_by_message(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, str], label: str, input_name: str | None
) -> None:
    for code in RULES:  # reword every rule: the form must still point at the same field
        monkeypatch.setitem(RULES, code, f"reworded {code}")
    draft = survey_form.draft_from_form(MultiDict({**BASE_FORM, **changes}))
    definition, problems = survey_form.validate(draft)
    assert definition is None
    assert [(p.label, p.input_name) for p in problems] == [(label, input_name)]
