"""The processing report as files: CSV and a real spreadsheet with the official headers
(Biểu II.06a/VPCP/KSTT)."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

# (column, header in one line for CSV); the XLSX groups them under the form's headings.
HEADERS = (
    ("name", "Đơn vị / Thủ tục / Lĩnh vực"),
    ("total", "Tổng số hồ sơ nhận giải quyết"),
    ("received_online", "Số mới tiếp nhận trực tuyến"),
    ("received_direct", "Số mới tiếp nhận trực tiếp, qua bưu chính"),
    ("carried_over_in_time", "Từ kỳ trước chuyển qua (trong hạn)"),
    ("carried_over_overdue", "Từ kỳ trước chuyển qua (quá hạn)"),
    ("carried_over_awaiting_supplement", "Từ kỳ trước chuyển qua (chờ bổ sung)"),
    ("resolved", "Số hồ sơ đã giải quyết"),
    ("resolved_early", "Đã giải quyết trước hạn"),
    ("resolved_on_time", "Đã giải quyết đúng hạn"),
    ("resolved_late", "Đã giải quyết quá hạn"),
    ("on_time_rate_text", "Tỷ lệ giải quyết đúng hạn"),
    ("in_progress_in_time", "Đang giải quyết trong hạn"),
    ("in_progress_overdue", "Đang giải quyết quá hạn"),
    ("awaiting_supplement", "Chờ bổ sung, hoàn thiện"),
    ("awaiting_fee", "Chờ nộp phí, lệ phí"),
    ("stopped", "Dừng xử lý"),
    ("returned_rejected", "Từ chối, trả lại"),
    ("withdrawn", "Rút hồ sơ"),
)
# The form's two-level heading: a group over consecutive columns.
GROUPS = (
    (2, 7, "Số hồ sơ nhận giải quyết"),
    (8, 12, "Số hồ sơ đã giải quyết"),
    (13, 14, "Số hồ sơ đang giải quyết"),
    (15, 16, "Số hồ sơ đang chờ"),
    (17, 19, "Kết thúc không có kết quả"),
)
TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"


def _lines(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [*data["rows"], {**data["totals"], "name": "Tổng cộng"}]


def to_csv(data: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for _, header in HEADERS])
    for line in _lines(data):
        writer.writerow([line.get(column, "") for column, _ in HEADERS])
    # A byte-order mark so spreadsheet programs read the Vietnamese as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(data: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Bieu II.06a"
    bold = Font(bold=True)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.cell(1, 1, TITLE).font = Font(bold=True, size=13)
    sheet.cell(2, 1, f"Kỳ báo cáo: từ ngày {data['from']:%d/%m/%Y} đến ngày {data['to']:%d/%m/%Y}")
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    header_row = 4
    sheet.merge_cells(start_row=header_row, start_column=1, end_row=header_row + 1, end_column=1)
    sheet.cell(header_row, 1, HEADERS[0][1])
    for first, last, heading in GROUPS:
        sheet.merge_cells(start_row=header_row, start_column=first, end_row=header_row,
                          end_column=last)  # fmt: skip
        sheet.cell(header_row, first, heading)
    for index, (_, header) in enumerate(HEADERS[1:], start=2):
        sheet.cell(header_row + 1, index, header)
    for row in sheet.iter_rows(min_row=header_row, max_row=header_row + 1):
        for cell in row:
            cell.font, cell.alignment = bold, centre
    for offset, line in enumerate(_lines(data), start=header_row + 2):
        for index, (column, _) in enumerate(HEADERS, start=1):
            sheet.cell(offset, index, line.get(column, ""))
        if line["name"] == "Tổng cộng":
            for index in range(1, len(HEADERS) + 1):
                sheet.cell(offset, index).font = bold
    sheet.column_dimensions["A"].width = 45
    for index in range(2, len(HEADERS) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 14
    sheet.row_dimensions[header_row + 1].height = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
