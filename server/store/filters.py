"""What a report or an export reads: the filters every one of them takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Filters:
    """Store-local days from..to (both included), narrowed to locations and touchpoints.

    Built from a request (`server.api.reports`, the dashboard's pages, the digests) and passed
    whole to the store's reads (`rollups.count_rows`, `day_parts.headline_counts`,
    `submissions.export_rows`, `kpi_report.day_rows`), so a filter added here reaches every
    report at once.
    """

    day_from: date
    day_to: date
    location_ids: list[str] | None = None  # None: every location (admin only)
    include_burst: bool = False  # answers of burst-flagged taps, which scores leave out
    touchpoint_ids: list[str | None] | None = None  # None: any; a None in it: at no touchpoint
