"""The pure parts of the pages after dispatch (issue 17): photos reduced, files refused, who hears which work
event, the next clock, the role homes, and every label of these pages in Chinese."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from services.console import work_labels
from services.console.handlers import attachments, work
from services.console.i18n import load_catalogs
from services.console.live import Listener, concerns
from shared.events import SlaEscalated, TicketDispatched, TicketReplied, new_event
from shared.policy.categories import Category
from shared.policy.limits import SlaClock

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
CONSOLE = Path(__file__).resolve().parents[3] / "services" / "console"


def _jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    out = io.BytesIO()
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(out, "JPEG", exif=exif.tobytes())
    else:
        image.save(out, "JPEG")
    return out.getvalue()


def test_a_camera_photo_is_turned_upright_and_reduced_to_1600_px() -> None:
    prepared = attachments.prepare("IMG_1.JPG", _jpeg(4000, 3000, orientation=6))  # taken holding the phone upright
    assert isinstance(prepared, attachments.Prepared)
    assert prepared.media_type == "image/jpeg" and prepared.filename == "IMG_1.jpg"
    assert Image.open(io.BytesIO(prepared.data)).size == (1200, 1600)


def test_a_png_screenshot_becomes_a_jpeg_and_a_pdf_receipt_is_kept_as_it_is() -> None:
    png = io.BytesIO()
    Image.new("RGBA", (800, 600), (0, 0, 0, 0)).save(png, "PNG")
    prepared = attachments.prepare("shot.png", png.getvalue())
    assert isinstance(prepared, attachments.Prepared) and prepared.media_type == "image/jpeg"
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    kept = attachments.prepare("receipt.pdf", pdf)
    assert kept == attachments.Prepared("receipt.pdf", "application/pdf", pdf)


def test_a_file_that_is_neither_photo_nor_pdf_is_refused_by_its_content_not_its_name() -> None:
    refused = attachments.prepare("photo.jpg", b"MZ\x90\x00 an executable")
    assert isinstance(refused, attachments.Refused) and "not a photo" in refused.message
    broken = attachments.prepare("half.jpg", b"\xff\xd8\xff" + b"\x00" * 100)
    assert isinstance(broken, attachments.Refused) and "cannot be read" in broken.message
    assert isinstance(attachments.prepare("empty.jpg", b""), attachments.Refused)


def test_a_pdf_over_the_stored_limit_is_refused_with_its_size() -> None:
    refused = attachments.prepare("big.pdf", b"%PDF-" + b"0" * (6 * 1024 * 1024))
    assert isinstance(refused, attachments.Refused)
    assert refused.values["size"] == "6.0" and refused.values["limit"] == "5.0"


def _listener(role: str, unit: str | None = None, division: str | None = None) -> Listener:
    return Listener(subject="x", role=role, branch="demo", locale="en", unit=unit, division=division)


def _dispatched(unit: str, division: str) -> object:
    return new_event(
        TicketDispatched(unit_id=unit, division_id=division, category=Category.REPAIR, rule_id="r", mode="automatic"),
        branch="demo",
        producer="dispatch",
        ticket_id=str(uuid.uuid4()),
        correlation_id="c",
        occurred_at=NOW,
    )


def test_a_ticket_dispatched_to_a_unit_reaches_that_units_handlers_only() -> None:
    event = _dispatched("U-XINGNING", "D-EAST")
    assert "work" in concerns(event, _listener("unit_handler", unit="U-XINGNING"), None)  # type: ignore[arg-type]
    assert "work" not in concerns(event, _listener("unit_handler", unit="U-QINGXIU"), None)  # type: ignore[arg-type]
    assert "work" not in concerns(event, _listener("agent"), None)  # type: ignore[arg-type]


def test_the_center_hears_replies_and_escalations_to_the_center_a_division_its_own_escalations() -> None:
    replied = new_event(
        TicketReplied(reply_id="r1", unit_id="U-QINGXIU", handler_id="h", result="ok"),
        branch="demo",
        producer="dispatch",
        ticket_id=str(uuid.uuid4()),
        correlation_id="c",
        occurred_at=NOW,
    )
    assert "work" in concerns(replied, _listener("center_supervisor"), None)

    def escalated(level: str, division: str) -> object:
        return new_event(
            SlaEscalated(
                clock=SlaClock.RESOLVE,
                deadline=NOW,
                to_level=level,  # type: ignore[arg-type]
                to_org_id=division,
                unit_id="U-QINGXIU",
                division_id=division,
                reason="breach",
                late_by_seconds=1.0,
            ),
            branch="demo",
            producer="sla_monitor",
            ticket_id=str(uuid.uuid4()),
            correlation_id="c",
            occurred_at=NOW,
        )

    east = _listener("division_supervisor", division="D-EAST")
    assert "work" in concerns(escalated("division", "D-EAST"), east, None)  # type: ignore[arg-type]
    assert "work" not in concerns(escalated("division", "D-WEST"), east, None)  # type: ignore[arg-type]
    assert "work" not in concerns(escalated("division", "D-EAST"), _listener("center_supervisor"), None)  # type: ignore[arg-type]
    assert "work" in concerns(escalated("center", "D-EAST"), _listener("center_supervisor"), None)  # type: ignore[arg-type]


def test_the_next_clock_is_the_running_one_with_the_nearest_deadline() -> None:
    ticket = {
        "clocks": [
            {"clock": "resolve", "running": True, "deadline": "2026-03-12T10:00:00+08:00", "overdue": False},
            {"clock": "contact", "running": True, "deadline": "2026-03-09T10:00:00+08:00", "overdue": True},
            {"clock": "dispatch", "running": False, "deadline": "2026-03-09T08:05:00+08:00", "overdue": False},
        ]
    }
    assert work.next_clock(ticket)["clock"] == "contact"  # type: ignore[index]
    assert work.overdue(ticket)
    assert work.next_clock({"clocks": []}) is None


def test_a_datetime_local_input_is_read_in_the_branchs_zone() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    assert work.local_instant("2026-03-09T10:30", zone) == datetime(2026, 3, 9, 2, 30, tzinfo=UTC)
    assert work.local_instant("", zone) is None
    assert work.local_instant("tomorrow", zone) is None


def test_each_role_has_its_own_home_and_agents_keep_the_workspace() -> None:
    assert work.home_of("unit_handler") == "/unit"
    assert work.home_of("center_supervisor") == "/center"
    assert work.home_of("division_supervisor") == "/division"
    assert work.home_of("admin") == "/org"
    assert work.home_of("agent") == "/home"


def test_every_label_and_message_of_these_pages_has_a_chinese_translation() -> None:
    chinese = load_catalogs()["zh_CN"]
    ids: set[str] = set()
    for table in (
        work_labels.ROLE_LABELS,
        work_labels.CONTACT_METHODS,
        work_labels.RETURN_REASONS,
        work_labels.REVIEW_STATUSES,
        work_labels.REJECT_REASONS,
        work_labels.EXTENSION_STATUSES,
        work_labels.FLAG_KINDS,
        work.CODE_MESSAGES,
    ):
        ids |= set(table.values())
    ids |= set(re.findall(r'": "([^"]+)"', (CONSOLE / "templates" / "center" / "_tabs.html").read_text()))
    ids |= set(re.findall(r'Refused\(\s*"([^"]+)"', (CONSOLE / "handlers" / "attachments.py").read_text()))
    saved = re.findall(
        r'"(Accepted|Contact recorded|Returned to the center|Extension requested|Reply sent for review)"',
        (CONSOLE / "api" / "unit.py").read_text(),
    )
    assert len(set(saved)) == 5
    ids |= set(saved)
    assert sorted(m for m in ids if chinese.gettext(m) == m) == []
