"""Admin: the survey editor. Saving makes a new version; a preview shows the kiosk's screen."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response

from server.dashboard.access import make_admin_blueprint
from server.db import get_db
from server.errors import json_path
from server.store import surveys
from server.store.admin import survey_list, survey_versions_of
from shared.survey import STRICT_KEYS, SurveyDefinition

bp = make_admin_blueprint("admin_surveys", __name__, "/dashboard/admin/surveys")

#: What "New survey" starts from: one smiley question in English.
STARTER: dict[str, Any] = {
    "languages": ["en"],
    "default_language": "en",
    "questions": [
        {
            "id": "q1",
            "kind": "smiley",
            "scale": 5,
            "text": {"en": "How was your visit today?"},
            "follow_up": {
                "when_at_most": 2,
                "text": {"en": "What went wrong?"},
                "reasons": [{"id": "wait", "text": {"en": "Waiting time"}}],
            },
            "comment": False,
        }
    ],
    "staff_prompt": "none",
    "thank_you": {"en": "Thank you!"},
}


def problems(exc: ValidationError) -> list[str]:
    """Every validation error as one line naming its field, e.g. `questions[0].scale: …`."""
    lines = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        # Union members and wrappers add steps like 'function-after[...]' that are no field.
        loc = tuple(p for p in error["loc"] if isinstance(p, int) or "[" not in str(p))
        field = json_path(loc) or "survey"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{field}: {message}")
    return lines


def parse(text: str) -> tuple[SurveyDefinition | None, list[str]]:
    """The definition in this JSON text, or the problems that stop it, each naming a field."""
    try:
        return SurveyDefinition.model_validate_json(text, context=STRICT_KEYS), []
    except ValidationError as exc:
        return None, problems(exc)


def pretty(definition: SurveyDefinition | dict[str, Any]) -> str:
    """A definition as the editor shows it: indented JSON without id and version."""
    body = definition if isinstance(definition, dict) else definition.model_dump(mode="json")
    body = {k: v for k, v in body.items() if k not in ("id", "version")}
    return json.dumps(body, indent=2, ensure_ascii=False)


@bp.get("/")
def index() -> str:
    """Every survey with its newest version, and the form for a new one."""
    conn = get_db()
    with conn.begin():
        rows = survey_list(conn)
    return render_template("dashboard/admin/surveys.html", surveys=rows, text=pretty(STARTER))


@bp.post("/")
def create() -> Response | tuple[str, int]:
    """Create a survey at version 1 from the JSON in the form."""
    text = request.form.get("definition", "")
    definition, errors = parse(text)
    conn = get_db()
    with conn.begin():
        if definition is None:
            rows = survey_list(conn)
            page = render_template(
                "dashboard/admin/surveys.html", surveys=rows, text=text, errors=errors
            )
            return page, 400
        survey_id, _version = surveys.create(conn, definition)
    flash(f"Survey {survey_id} created at version 1.")
    return redirect(url_for("admin_surveys.edit", survey_id=survey_id))


def _editor(survey_id: str, text: str | None = None, errors: list[str] | None = None) -> str:
    conn = get_db()
    with conn.begin():
        survey = surveys.latest(conn, survey_id)
        if survey is None:
            abort(404)
        versions = survey_versions_of(conn, survey_id)
    return render_template(
        "dashboard/admin/survey_edit.html",
        survey=survey,
        versions=versions,
        text=pretty(survey) if text is None else text,
        errors=errors or [],
        preview=preview(survey),
    )


@bp.get("/<survey_id>")
def edit(survey_id: str) -> str:
    """The newest version in the editor, its versions and a preview of the first question."""
    return _editor(survey_id)


@bp.post("/<survey_id>")
def save(survey_id: str) -> Response | tuple[str, int]:
    """Validate and store the next version; errors name the field and keep the text."""
    text = request.form.get("definition", "")
    definition, errors = parse(text)
    if definition is None:
        return _editor(survey_id, text, errors), 400
    conn = get_db()
    with conn.begin():
        version = surveys.add_version(conn, survey_id, definition)
    if version is None:
        abort(404)
    flash(f"Saved as version {version}; kiosks showing this survey pick it up.")
    return redirect(url_for("admin_surveys.edit", survey_id=survey_id))


def preview(survey: SurveyDefinition) -> dict[str, Any]:
    """The first question as the kiosk shows it, in the default language."""
    lang = survey.default_language
    question = survey.questions[0]
    options = []
    for value in question.values:
        if question.kind == "smiley":
            # Faces from unhappiest to happiest: the mouth bends from down (-1) to up (+1).
            mood = -1 + 2 * (value - 1) / (question.scale - 1)
            options.append({"value": value, "mood": round(mood, 2), "level": _level(mood)})
        else:
            options.append({"value": value})
    if question.kind == "nps":
        ends = ("Not at all likely", "Extremely likely")
    elif question.kind == "ces":
        ends = ("Very difficult", "Very easy")
    elif question.kind == "csat":
        ends = ("Very unsatisfied", "Very satisfied")
    else:
        ends = ("", "")
    return {
        "kind": question.kind,
        "text": question.text.get(lang, question.id),
        "options": options,
        "ends": ends,
        "language": lang,
        "languages": survey.languages,
    }


def _level(mood: float) -> int:
    """A colour step 0..4 for a face (the stylesheet colours it; no inline styles)."""
    return min(4, int((mood + 1) * 2.5))
