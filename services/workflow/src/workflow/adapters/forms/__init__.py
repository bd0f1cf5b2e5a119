"""The official forms of the one-stop desk as PDF (Circular 01/2018/TT-VPCP, forms 01–06):
receipt and appointment, supplement request, rejection, apology and new appointment, and
the processing control sheet. Each carries the dossier code and a QR code of the public
tracking page.

Layout is shared (national motto, agency, title, signature, QR); each form only writes
its body. Fonts are DejaVu Sans (shipped with their licence), which covers Vietnamese.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import qrcode
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from shared.contracts.events import VIETNAM
from workflow.domain.text import DOTS, moment

FONTS = Path(__file__).resolve().parent / "fonts"


@dataclass(frozen=True)
class FormDocument:
    name: str
    count: int = 1
    note: str | None = None


@dataclass(frozen=True)
class FormEntry:
    """One line of the control sheet, from the audit trail."""

    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    note: str | None = None


@dataclass(frozen=True)
class FormDossier:
    code: str
    procedure_code: str
    procedure_name: str
    agency_name: str
    applicant_name: str
    applicant_address: str | None
    applicant_phone: str | None
    submitted_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    tracking_url: str
    # The officer who signs this form (each form its own: see services/forms.py).
    signer_name: str | None = None
    documents: tuple[FormDocument, ...] = ()
    supplement_items: tuple[str, ...] = ()
    supplement_due_at: datetime | None = None
    reason: str | None = None
    original_due_at: datetime | None = None
    new_due_at: datetime | None = None
    history: tuple[FormEntry, ...] = ()
    result_delivery: str | None = None
    # citizen (the account holder), proxy (khai hộ: declared by the holder for someone,
    # `relationship` saying how they are related) or organisation.
    applicant_kind: str = "citizen"
    declarant_name: str | None = None
    relationship: str | None = None
    # An organisation applicant.
    tax_code: str | None = None
    legal_representative: str | None = None


def short(at: datetime) -> str:
    return f"{at.astimezone(VIETNAM):%d/%m/%Y %H:%M}"


class _Form(FPDF):
    def __init__(self, dossier: FormDossier, title: str) -> None:
        super().__init__(format="A4")
        self.dossier = dossier
        self.form_title = title
        self.set_margins(20, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_title(f"{title} – {dossier.code}")
        self.add_page()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 7)
        self.cell(0, 5, f"Mã hồ sơ: {self.dossier.code} – Trang {self.page_no()}", align="C")

    def line_text(
        self, text: str, *, bold: bool = False, size: float = 11, align: str = "L"
    ) -> None:
        self.set_font("DejaVu", "B" if bold else "", size)
        self.multi_cell(0, 6, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def field(self, label: str, value: str | None) -> None:
        self.set_font("DejaVu", "B", 11)
        self.write(6, f"{label}: ")
        self.set_font("DejaVu", "", 11)
        self.write(6, value or DOTS)
        self.ln(7)

    def header_block(self) -> None:
        top = self.get_y()
        width = (self.w - self.l_margin - self.r_margin) / 2
        self.set_font("DejaVu", "B", 10)
        self.multi_cell(width, 5, self.dossier.agency_name.upper(), align="C")
        self.multi_cell(width, 5, "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ", align="C")
        left_bottom = self.get_y()
        self.set_xy(self.l_margin + width, top)
        self.multi_cell(width, 5, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C")
        self.set_x(self.l_margin + width)
        self.multi_cell(width, 5, "Độc lập - Tự do - Hạnh phúc", align="C")
        self.set_y(max(left_bottom, self.get_y()) + 2)
        self.set_font("DejaVu", "", 9)
        self.cell(width, 5, f"Mã hồ sơ: {self.dossier.code}", align="C")
        self.ln(10)
        self.line_text(self.form_title.upper(), bold=True, size=13, align="C")
        self.ln(3)

    def signature_and_qr(self, signer: str, name: str | None) -> None:
        self.ln(6)
        top = self.get_y()
        if top > self.h - 70:
            self.add_page()
            top = self.get_y()
        self.image(_qr_png(self.dossier.tracking_url), x=self.l_margin, y=top, w=30, h=30)
        self.set_xy(self.l_margin, top + 31)
        self.set_font("DejaVu", "", 8)
        self.cell(30, 4, "Tra cứu hồ sơ", align="C")
        width = (self.w - self.l_margin - self.r_margin) / 2
        self.set_xy(self.l_margin + width, top)
        self.set_font("DejaVu", "B", 11)
        self.multi_cell(width, 6, signer, align="C")
        self.set_x(self.l_margin + width)
        self.set_font("DejaVu", "", 9)
        self.multi_cell(width, 5, "(Ký, ghi rõ họ tên)", align="C")
        self.set_xy(self.l_margin + width, top + 28)
        self.set_font("DejaVu", "B", 11)
        self.multi_cell(width, 6, name or DOTS, align="C")


@cache
def _qr_bytes(url: str) -> bytes:
    image = qrcode.make(url, box_size=6, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _qr_png(url: str) -> io.BytesIO:
    return io.BytesIO(_qr_bytes(url))


def _applicant(form: _Form) -> None:
    d = form.dossier
    form.field("Tên tổ chức, cá nhân", d.applicant_name)
    if d.applicant_kind == "organisation":
        form.field("Mã số thuế", d.tax_code)
        form.field("Người đại diện theo pháp luật", d.legal_representative)
    form.field("Địa chỉ", d.applicant_address)
    form.field("Số điện thoại", d.applicant_phone)
    if d.applicant_kind == "proxy":
        form.field("Người khai hộ", d.declarant_name)
        form.field("Quan hệ với người được khai hộ", d.relationship)
    elif d.applicant_kind == "organisation":
        form.field("Người nộp hồ sơ", d.declarant_name)


def _receipt(form: _Form) -> None:
    d = form.dossier
    form.field("Bộ phận tiếp nhận và trả kết quả", d.agency_name)
    form.line_text("Tiếp nhận hồ sơ của:")
    _applicant(form)
    form.field("Nội dung yêu cầu giải quyết", f"{d.procedure_name} ({d.procedure_code})")
    form.line_text("Thành phần hồ sơ nộp gồm:", bold=True)
    for number, document in enumerate(d.documents, 1):
        form.line_text(f"{number}. {document.name} – số lượng: {document.count}")
    if not d.documents:
        form.line_text(DOTS)
    form.field("Số lượng hồ sơ", "01 bộ")
    form.field("Thời gian nộp trực tuyến", moment(d.submitted_at))
    form.field("Thời gian tiếp nhận", moment(d.received_at))
    # The receipt is the appointment as first given; an apology letter records a new one.
    form.field("Thời gian trả kết quả giải quyết hồ sơ", moment(d.original_due_at or d.due_at))
    form.field("Nhận kết quả tại", d.result_delivery)
    form.line_text(
        "Vào sổ theo dõi hồ sơ. Khi đến nhận kết quả, công dân mang theo giấy tiếp nhận này "
        "và bản chính các giấy tờ đã nộp trực tuyến để đối chiếu."
    )
    form.signature_and_qr("NGƯỜI TIẾP NHẬN HỒ SƠ", d.signer_name)


def _supplement_request(form: _Form) -> None:
    d = form.dossier
    form.line_text(
        f"Ngày {moment(d.received_at or d.submitted_at)}, Bộ phận tiếp nhận và trả kết quả "
        f"{d.agency_name} đã tiếp nhận hồ sơ đề nghị giải quyết thủ tục "
        f"“{d.procedure_name}” của:"
    )
    _applicant(form)
    form.line_text(
        "Sau khi xem xét, hồ sơ chưa đầy đủ, hợp lệ. Đề nghị ông/bà bổ sung, hoàn thiện "
        "hồ sơ gồm những nội dung sau:",
        bold=True,
    )
    for number, item in enumerate(d.supplement_items, 1):
        form.line_text(f"{number}. {item}")
    form.field("Thời hạn bổ sung", moment(d.supplement_due_at))
    form.line_text(
        "Thời gian bổ sung, hoàn thiện hồ sơ không tính vào thời gian giải quyết. Ông/bà "
        "bổ sung trực tuyến bằng tài khoản hoặc mã cập nhật của hồ sơ."
    )
    form.line_text("Xin trân trọng cảm ơn!")
    form.signature_and_qr("NGƯỜI HƯỚNG DẪN", d.signer_name)


def _rejection(form: _Form) -> None:
    d = form.dossier
    form.line_text(
        f"Bộ phận tiếp nhận và trả kết quả {d.agency_name} đã tiếp nhận hồ sơ đề nghị giải "
        f"quyết thủ tục “{d.procedure_name}” của:"
    )
    _applicant(form)
    form.line_text(
        "Qua xem xét, cơ quan không tiếp nhận, giải quyết hồ sơ này với lý do:", bold=True
    )
    form.line_text(d.reason or DOTS)
    form.line_text("Xin thông báo để ông/bà được biết và thực hiện.")
    form.signature_and_qr("NGƯỜI TIẾP NHẬN HỒ SƠ", d.signer_name)


def _apology(form: _Form) -> None:
    d = form.dossier
    form.line_text(
        f"Ngày {moment(d.received_at)}, {d.agency_name} tiếp nhận giải quyết hồ sơ "
        f"“{d.procedure_name}” của:"
    )
    _applicant(form)
    form.field("Thời gian hẹn trả kết quả", moment(d.original_due_at))
    form.line_text(
        "Tuy nhiên, đến nay cơ quan chưa trả kết quả giải quyết hồ sơ cho ông/bà. Lý do:"
    )
    form.line_text(d.reason or DOTS)
    form.line_text(
        "Sự chậm trễ này đã gây phiền hà cho ông/bà. Cơ quan xin lỗi ông/bà và hẹn trả kết "
        f"quả vào {moment(d.new_due_at)}.",
        bold=True,
    )
    form.line_text("Xin trân trọng cảm ơn!")
    form.signature_and_qr("THỦ TRƯỞNG CƠ QUAN", d.signer_name)


# A table row cannot continue on the next page, so a note is shown with its line breaks
# joined and cut at this many characters (the dossier's history keeps it whole): even in
# the widest letters that stays far shorter than a page.
CONTROL_NOTE_CHARS = 500


def _clipped(note: str) -> str:
    flat = " ".join(note.split())
    if len(flat) <= CONTROL_NOTE_CHARS:
        return flat
    return flat[: CONTROL_NOTE_CHARS - 1].rstrip() + "…"


def _control_sheet(form: _Form) -> None:
    d = form.dossier
    form.field("Kèm theo hồ sơ của", d.applicant_name)
    form.field("Thủ tục", f"{d.procedure_name} ({d.procedure_code})")
    form.field("Ngày hẹn trả kết quả", moment(d.due_at))
    form.ln(2)
    rows = [("TT", "Thời gian giao, nhận", "Cán bộ", "Nội dung", "Kết quả, ghi chú")]
    for number, entry in enumerate(d.history, 1):
        result = entry.to_status if not entry.note else f"{entry.to_status}: {_clipped(entry.note)}"
        rows.append((str(number), short(entry.at), entry.actor, entry.action, result))
    form.set_font("DejaVu", "", 8)
    with form.table(col_widths=(8, 30, 35, 40, 62), line_height=5) as table:
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(value)
    form.signature_and_qr("LÃNH ĐẠO ĐƠN VỊ", None)


TITLES = {
    "receipt": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "supplement-request": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "rejection": "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
    "apology": "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
    "control-sheet": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
}
_BODIES: dict[str, Callable[[_Form], None]] = {
    "receipt": _receipt,
    "supplement-request": _supplement_request,
    "rejection": _rejection,
    "apology": _apology,
    "control-sheet": _control_sheet,
}
FORMS = tuple(TITLES)


def form_title(form: str) -> str:
    return TITLES[form]


def render(form: str, dossier: FormDossier) -> bytes:
    """The form as PDF bytes (KeyError for an unknown form)."""
    body = _BODIES[form]
    document = _Form(dossier, TITLES[form])
    document.header_block()
    body(document)
    return bytes(document.output())
