"""The application factory."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from server import db, errors, jobs, logs, secret_key, settings


class _Flask(Flask):
    """Flask, asking whether a view or hook is a coroutine function once per function.

    Flask asks it at every call (`ensure_sync`, seven times a device request, each a walk
    of `inspect`); the answer never changes for a function. Kept with the app (so it goes
    with it) and bounded: functions made per request (`after_this_request`) would grow it.
    """

    _SYNC_CACHE_MAX = 1024

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        cache: dict[Callable[..., Any], Callable[..., Any]] = self.__dict__.setdefault(
            "_smiletap_sync", {}
        )
        found = cache.get(func)
        if found is None:
            if len(cache) >= self._SYNC_CACHE_MAX:
                cache.clear()
            found = cache[func] = super().ensure_sync(func)
        return found


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: settings' defaults, then `SMILETAP_*` variables, then test_config,
    read once into the typed `settings.Settings` (`settings.current()`)."""
    layered: dict[str, Any] = settings.defaults()
    layered.update(settings.from_environment())
    if test_config:
        layered.update(test_config)
    typed = settings.from_layers(layered)
    instance_path = typed.instance_path
    app = _Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.update(layered)  # Flask's own keys (TESTING, ...) pass through
    resolved = secret_key.resolve(typed.secret_key, app.instance_path)
    settings.init_app(app, replace(typed, secret_key=resolved))
    app.json.sort_keys = False  # type: ignore[attr-defined]

    trusted_proxies = typed.proxy_fix_x_for
    if trusted_proxies > 0:
        # Behind nginx, remote_addr is the proxy: trust that many X-Forwarded-For hops so
        # the enroll rate limit counts each real client, and no more, so clients cannot spoof.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies)  # type: ignore[method-assign]
    db.init_app(app)
    logs.init_app(app)
    errors.init_app(app)

    from server import health, metrics

    metrics.init_app(app)
    from server.api import device, kpis, openapi, reports

    app.register_blueprint(health.bp)
    app.register_blueprint(device.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(kpis.bp)
    app.register_blueprint(openapi.bp)

    from server import dashboard

    dashboard.init_app(app)
    jobs.init_app(app)
    return app


def freeze_startup_objects() -> None:
    """Move everything built so far out of the garbage collector's sight (`gc.freeze`).

    Modules, the app and SQLAlchemy's and pydantic's structures live as long as the process;
    without this every full collection walks them again, which took about a third of a
    500-tap upload's time (bench/ingest.py). Called once the app is built and served.
    """
    gc.freeze()
