"""The fee receipt (biên lai thu lệ phí điện tử) of a dossier paid online, as PDF.

Fonts are DejaVu Sans (shipped with their licence in fonts/), which covers Vietnamese.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from shared.contracts.events import VIETNAM

FONTS = Path(__file__).resolve().parent / "fonts"


@dataclass(frozen=True)
class Receipt:
    receipt_no: str
    paid_at: datetime
    amount_vnd: int
    dossier_code: str
    procedure_name: str
    agency_name: str
    payer_name: str
    transaction_no: str


def _dong(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


def render(receipt: Receipt) -> bytes:
    pdf = FPDF(format=(148, 210))  # A5, in millimetres
    pdf.set_margins(12, 12, 12)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Biên lai {receipt.receipt_no}")
    pdf.add_page()

    def line(text: str, *, bold: bool = False, size: float = 10, align: str = "L") -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.multi_cell(0, 6, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(receipt.agency_name.upper(), bold=True, align="C")
    line("CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=9, align="C")
    line("Độc lập - Tự do - Hạnh phúc", size=9, align="C")
    pdf.ln(4)
    line("BIÊN LAI THU LỆ PHÍ ĐIỆN TỬ", bold=True, size=13, align="C")
    line(f"Số: {receipt.receipt_no}", align="C")
    pdf.ln(4)
    paid = receipt.paid_at.astimezone(VIETNAM)
    for label, value in (
        ("Người nộp", receipt.payer_name),
        ("Mã hồ sơ", receipt.dossier_code),
        ("Thủ tục", receipt.procedure_name),
        ("Số tiền", _dong(receipt.amount_vnd)),
        ("Hình thức", "Thanh toán trực tuyến"),
        ("Mã giao dịch", receipt.transaction_no),
        ("Thời gian", f"{paid:%H:%M:%S} ngày {paid:%d/%m/%Y}"),
    ):
        pdf.set_font("DejaVu", "B", 10)
        pdf.write(6, f"{label}: ")
        pdf.set_font("DejaVu", "", 10)
        pdf.write(6, value)
        pdf.ln(7)
    return bytes(pdf.output())
