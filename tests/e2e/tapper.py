"""A kiosk without a window, as a process to kill: taps into the real store, uploads now and
then, and prints `durable <id>` once each tap's commit has returned (when the thank-you
screen would show).

    python tapper.py DATA_DIR SURVEY_ID SURVEY_VERSION LOCATION_ID SEED
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

from kiosk.settings import Settings
from kiosk.store import LocalStore
from kiosk.sync import SyncService
from shared.ids import new_submission_id
from shared.protocol import Answer, Submission


def main() -> None:
    data_dir, survey_id, version, location, seed = sys.argv[1:6]
    rng = random.Random(int(seed))
    settings = Settings(data_dir=Path(data_dir), http_timeout_s=2.0, batch_size=50)
    store = LocalStore(settings.database_path)
    sync = SyncService(store, settings)
    while True:
        submission = Submission(
            id=new_submission_id(),
            survey_id=survey_id,
            survey_version=int(version),
            location_id=location,
            language="en",
            tapped_at=dt.datetime.now(dt.UTC),
            answers=[Answer(question_id="q1", value=rng.randint(1, 5))],
        )
        store.record_submission(submission, burst_max_taps=10_000, burst_window_s=1)
        print(f"durable {submission.id}", flush=True)
        if rng.random() < 0.1:
            sync.upload_pending()


if __name__ == "__main__":
    main()
