"""The filters every report takes (dates, locations, burst taps, touchpoints), and the two
reads they drive: score counts per group and KPI rows per location-day.

Built from a request by `server.api.reports`; used there and by `server.links`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from server import kpi_report
from server.store import day_parts, rollups


@dataclass(frozen=True)
class Filters:
    """The filters every report takes."""

    day_from: date
    day_to: date
    location_ids: list[str] | None  # None: every location (admin only)
    include_burst: bool
    touchpoint_ids: list[str | None] | None  # None: any; a None in it: at no touchpoint

    def counts(self, conn: Connection, group_by: str) -> list[dict[str, Any]]:
        """The score counts per `group_by` group (`rollups.counts`) under these filters."""
        return rollups.counts(
            conn,
            group_by,
            self.day_from,
            self.day_to,
            self.location_ids,
            self.include_burst,
            self.touchpoint_ids,
        )

    def count_rows(self, conn: Connection, group_by: str) -> Sequence[Sequence[Any]]:
        """`counts` as rows (`rollups.count_rows`), for `scores.score_groups`."""
        return rollups.count_rows(
            conn,
            group_by,
            self.day_from,
            self.day_to,
            self.location_ids,
            self.include_burst,
            self.touchpoint_ids,
        )

    def daily_value_counts(self, conn: Connection, kind: str) -> list[tuple[Any, ...]]:
        """A kind's value counts per location-day and scale (`day_parts.daily_value_counts`)."""
        return day_parts.daily_value_counts(
            conn,
            kind,
            self.day_from,
            self.day_to,
            self.location_ids,
            self.include_burst,
            self.touchpoint_ids,
        )

    def day_rows(
        self, conn: Connection, *, kpis_only: bool = False
    ) -> dict[tuple[str, date], dict[str, Any]]:
        """The KPI rows per location-day (`kpi_report.day_rows`) under these filters."""
        return kpi_report.day_rows(
            conn,
            self.location_ids,
            self.day_from,
            self.day_to,
            self.include_burst,
            self.touchpoint_ids,
            kpis_only=kpis_only,
        )
