"""The kiosk's real store and sync service without a window, and what the server stored."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from harness import ServerProcess
from sqlalchemy import text

from kiosk.enrollment import enroll
from kiosk.settings import Settings
from kiosk.store import LocalStore
from kiosk.sync import SyncService
from server.db import make_engine
from server.store import pending_rollups
from shared.ids import new_submission_id
from shared.protocol import Answer, Submission


class HeadlessKiosk:
    """The kiosk's real store and sync service, driven without a window."""

    def __init__(self, server: ServerProcess, folder: Path, location: str, survey: dict) -> None:
        device = server.cli_here("create-device", "--location", location, "--name", folder.name)
        self.settings = Settings(data_dir=folder, http_timeout_s=2.0, batch_size=50)
        self.store = LocalStore(self.settings.database_path)
        self.enrollment = enroll(self.store, server.url, device["code"])
        self.survey = survey
        self.location = location
        self.sync = SyncService(self.store, self.settings)

    @classmethod
    def reopen(cls, folder: Path, location: str, survey: dict) -> HeadlessKiosk:  # type: ignore[type-arg]
        """The kiosk in `folder` as it is on disk after a crash (already enrolled)."""
        kiosk = cls.__new__(cls)
        kiosk.settings = Settings(data_dir=folder, http_timeout_s=2.0, batch_size=50)
        kiosk.store = LocalStore(kiosk.settings.database_path)
        enrollment = kiosk.store.get_enrollment()
        assert enrollment is not None
        kiosk.enrollment = enrollment
        kiosk.survey, kiosk.location = survey, location
        kiosk.sync = SyncService(kiosk.store, kiosk.settings)
        return kiosk

    def route_through(self, url: str) -> None:
        """Send all later requests to `url` (a proxy) instead of the server itself."""
        self.store.set_enrollment(replace(self.enrollment, server_url=url))

    def tap(self, value: int, tapped_at: dt.datetime | None = None) -> str:
        """Record one durable tap, as the question screen does; returns its id."""
        submission = Submission(
            id=new_submission_id(),
            survey_id=self.survey["id"],
            survey_version=self.survey["version"],
            location_id=self.location,
            language="en",
            tapped_at=tapped_at or dt.datetime.now(dt.UTC),
            answers=[Answer(question_id="q1", value=value)],
        )
        return self.store.record_submission(submission).id

    def recorded_ids(self) -> set[str]:
        return {row[0] for row in self.store.conn.execute("SELECT id FROM submissions")}

    def drain(self, attempts: int = 200) -> int:
        """Upload until nothing is pending; returns how many upload runs it took."""
        for attempt in range(1, attempts + 1):
            self.sync.upload_pending()
            if self.store.backlog() == 0:
                return attempt
        raise AssertionError(f"backlog still {self.store.backlog()} after {attempts} runs")

    def close(self) -> None:
        self.store.close()


def server_counts(server: ServerProcess) -> tuple[list[str], int]:
    """The submission ids the server stored, and the answers its rollups count (the pending
    uploads folded first, as any reader of the rollups does)."""
    url = server.env.get("SMILETAP_DATABASE_URL") or f"sqlite:///{server.instance_dir}/smiletap.db"
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            pending_rollups.caught_up(db)
            ids = [row[0] for row in db.execute(text("SELECT id FROM submissions"))]
            counted = db.execute(text("SELECT coalesce(sum(count), 0) FROM rollups")).scalar()
    finally:
        engine.dispose()
    return ids, int(counted or 0)
