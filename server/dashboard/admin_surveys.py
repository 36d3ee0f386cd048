"""Admin: the survey editor. Saving makes a new version; a preview shows the kiosk's screens.

Two editors share one save path: the form (`survey_form`, for admins who never see JSON) and
the advanced JSON tab (import and export). Either posts to the same URL; whatever the source,
the definition is checked by the shared survey model and stored as the next version.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response as BaseResponse

from server.dashboard import survey_form
from server.dashboard.access import make_admin_blueprint
from server.dashboard.survey_form import Draft, Problem
from server.dashboard.survey_preview import preview
from server.db import get_db
from server.errors import json_path
from server.store import surveys
from shared.survey import STRICT_KEYS, Survey, SurveyDefinition

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
    """A definition as the JSON editor shows it: indented JSON without id and version."""
    body = definition if isinstance(definition, dict) else definition.model_dump(mode="json")
    body = {k: v for k, v in body.items() if k not in ("id", "version")}
    return json.dumps(body, indent=2, ensure_ascii=False)


def _store(survey_id: str | None, definition: SurveyDefinition) -> BaseResponse:
    """The one save path: a new survey at version 1, or the next version of this one."""
    conn = get_db()
    with conn.begin():
        if survey_id is None:
            survey_id, _version = surveys.create(conn, definition)
            message = f"Survey {definition.name or survey_id} created at version 1."
        else:
            saved = surveys.add_version(conn, survey_id, definition)
            if saved is None:
                abort(404)
            message = f"Saved as version {saved}; kiosks showing this survey pick it up."
    flash(message)
    return redirect(url_for("admin_surveys.edit", survey_id=survey_id))


def _latest(survey_id: str) -> tuple[Survey, list[dict[str, Any]]]:
    conn = get_db()
    with conn.begin():
        survey = surveys.latest(conn, survey_id)
        if survey is None:
            abort(404)
        versions = surveys.versions(conn, survey_id)
    return survey, versions


# --- the list, and new surveys -----------------------------------------------------------


@bp.get("/")
def index() -> str:
    """Every survey with its newest version; a new one from the form or from JSON."""
    return _index_page(pretty(STARTER))


def _index_page(text: str, errors: list[str] | None = None) -> str:
    conn = get_db()
    with conn.begin():
        rows = surveys.summaries(conn)
    return render_template(
        "dashboard/admin/surveys.html", surveys=rows, text=text, errors=errors or []
    )


@bp.get("/new")
def new() -> str:
    """The form for a new survey, starting from one smiley question."""
    starter = SurveyDefinition.model_validate(STARTER)
    return _form_page(None, survey_form.draft_from_survey(starter))


@bp.post("/")
def create() -> BaseResponse | str | tuple[str, int]:
    """Create a survey at version 1, from the form or from the JSON import."""
    if "definition" in request.form:
        text = request.form.get("definition", "")
        definition, errors = parse(text)
        if definition is None:
            return _index_page(text, errors), 400
        return _store(None, definition)
    return _from_form(None)


# --- one survey --------------------------------------------------------------------------


@bp.get("/<survey_id>")
def edit(survey_id: str) -> str:
    """The newest version in the form editor, its versions and the kiosk preview."""
    survey, _versions = _latest(survey_id)
    return _form_page(survey_id, survey_form.draft_from_survey(survey))


@bp.post("/<survey_id>")
def save(survey_id: str) -> BaseResponse | str | tuple[str, int]:
    """Store the next version from the form or the JSON tab; errors keep what was typed."""
    if "definition" in request.form or "file" in request.files:
        text, upload_problem = _json_text()
        definition, errors = parse(text) if upload_problem is None else (None, [upload_problem])
        if definition is None:
            return _json_page(survey_id, text, errors), 400
        return _store(survey_id, definition)
    return _from_form(survey_id)


@bp.get("/<survey_id>/json")
def edit_json(survey_id: str) -> str:
    """The advanced tab: the newest version as JSON, to copy, paste or upload."""
    return _json_page(survey_id)


@bp.get("/<survey_id>/survey.json")
def export(survey_id: str) -> Response:
    """The newest version as a file `create-survey` and `update-survey` accept."""
    survey, _versions = _latest(survey_id)
    filename = f"{survey_id}-v{survey.version}.json"
    return Response(
        pretty(survey) + "\n",
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _from_form(survey_id: str | None) -> BaseResponse | str | tuple[str, int]:
    draft = survey_form.draft_from_form(request.form)
    action = request.form.get("action", "save")
    if action != "save":
        # An add, remove or move button, or "update preview": show the form again, unsaved.
        return _form_page(survey_id, survey_form.apply(draft, action))
    definition, found = survey_form.validate(draft)
    if definition is None:
        return _form_page(survey_id, draft, found), 400
    return _store(survey_id, definition)


def _form_page(survey_id: str | None, draft: Draft, found: list[Problem] | None = None) -> str:
    survey, versions = _latest(survey_id) if survey_id else (None, [])
    found = found or []
    language = request.form.get("preview_language") if request.method == "POST" else None
    return render_template(
        "dashboard/admin/survey_edit.html",
        survey=survey,
        versions=versions,
        draft=draft,
        problems=found,
        invalid={p.input_name for p in found if p.input_name},
        preview=preview(draft, language),
        kinds=survey_form.KIND_CHOICES,
        staff_prompts=survey_form.STAFF_PROMPTS,
        common_languages=survey_form.COMMON_LANGUAGES,
        action_url=url_for("admin_surveys.save", survey_id=survey_id)
        if survey_id
        else url_for("admin_surveys.create"),
    )


def _json_text() -> tuple[str, str | None]:
    """The JSON the admin sent: an uploaded file if there is one, else the text box."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        try:
            return upload.read().decode("utf-8"), None
        except UnicodeDecodeError:
            return "", "file: not UTF-8 text"
    return request.form.get("definition", ""), None


def _json_page(survey_id: str, text: str | None = None, errors: list[str] | None = None) -> str:
    survey, versions = _latest(survey_id)
    return render_template(
        "dashboard/admin/survey_json.html",
        survey=survey,
        versions=versions,
        text=pretty(survey) if text is None else text,
        errors=errors or [],
    )
