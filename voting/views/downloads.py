"""Public downloads of a closed round: the open data (zip, Pabulib .pb) and the notice PDF.

Nothing here exists before close: a draft, open or missing round is a 404, whatever its
running-results setting. The open data is streamed as it is read; the notice is a small PDF
built in memory. Each is rate-limited per address: the zip regroups the ballots, the .pb
reads them all, and anyone may ask.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flask import Blueprint, Response, current_app, stream_with_context

from ..extensions import limiter
from ..notice_pdf import render_notice_pdf
from ..services import notice as notice_service
from ..services import open_data, pb_io
from ..services._tx import utcnow

bp = Blueprint("downloads", __name__)

LINES_PER_CHUNK = 2_000


def _limit() -> str:
    return str(current_app.config["DOWNLOAD_LIMIT_PER_IP"])


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename={filename}"}


@bp.route("/rounds/<int:round_id>/open-data.zip")
@limiter.limit(_limit)
def open_data_zip(round_id: int):  # type: ignore[no-untyped-def]
    open_data.published_round(round_id)
    body = open_data.open_data_zip(round_id, tz=current_app.config["DISPLAY_TIMEZONE"])
    return Response(
        stream_with_context(body),
        mimetype="application/zip",
        headers=_attachment(open_data.zip_filename(round_id)),
    )


@bp.route("/rounds/<int:round_id>/notice.pdf")
@limiter.limit(_limit)
def notice_pdf(round_id: int):  # type: ignore[no-untyped-def]
    notice = notice_service.public_notice(round_id)
    pdf = render_notice_pdf(
        notice,
        now=utcnow(),
        tz=current_app.config["DISPLAY_TIMEZONE"],
        base_url=current_app.config["PUBLIC_BASE_URL"],
    )
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename=notice-round-{round_id}.pdf"},
    )


def _batched(lines: Iterable[str]) -> Iterator[bytes]:
    """Lines joined a few thousand at a time: one write per line would dominate the time."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == LINES_PER_CHUNK:
            yield "".join(batch).encode()
            batch.clear()
    if batch:
        yield "".join(batch).encode()


@bp.route("/rounds/<int:round_id>/open-data.pb")
@limiter.limit(_limit)
def open_data_pb(round_id: int):  # type: ignore[no-untyped-def]
    open_data.published_round(round_id)
    lines = pb_io.iter_pb_lines(round_id, tz=current_app.config["DISPLAY_TIMEZONE"])
    return Response(
        stream_with_context(_batched(lines)),
        mimetype="text/plain; charset=utf-8",
        headers=_attachment(f"round-{round_id}.pb"),
    )
