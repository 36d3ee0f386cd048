"""The application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from server import db, errors, settings


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: settings' defaults, then `SMILETAP_*` variables, then test_config."""
    layered: dict[str, Any] = settings.defaults()
    layered.update(settings.from_environment())
    if test_config:
        layered.update(test_config)
    instance_path = layered.get("INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.update(layered)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    db.init_app(app)
    errors.init_app(app)

    from server.api import device, openapi, reports

    app.register_blueprint(device.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(openapi.bp)
    return app
