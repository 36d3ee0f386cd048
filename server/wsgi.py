"""The WSGI entry point for production servers: `gunicorn server.wsgi:app`.

Settings come from `SMILETAP_*` environment variables. Run `smiletap-server migrate` once
before starting the workers; they do not migrate, so several never race to do it.
"""

from __future__ import annotations

from server import logs
from server.app import create_app, freeze_startup_objects
from server.db import use_private_umask

use_private_umask()
app = create_app()
logs.configure_for(app)
freeze_startup_objects()
