"""A bulletin's files: PDF (HTML laid out by WeasyPrint, Noto CJK font), Excel (openpyxl), a chart (matplotlib)."""

from __future__ import annotations

import base64
import io
from html import escape
from typing import Any

SUMMARY_ROWS = (
    ("received", "受理量"),
    ("first_contact_rate", "首次解决率"),
    ("on_time_rate", "总按时率"),
    ("breaches", "超时"),
    ("escalations_division", "升级至事业部"),
    ("escalations_center", "升级至客服中心"),
    ("returns", "退单"),
    ("extensions_requested", "延期申请"),
    ("extensions_granted", "延期批准"),
    ("complaints", "投诉"),
    ("repeat_complaints", "重复投诉"),
    ("collective_complaints", "集体投诉"),
    ("reopen_rate", "重办率"),
    ("callbacks_completed", "回访完成"),
    ("callbacks_abandoned", "回访失败"),
    ("satisfaction_average", "满意度均分"),
    ("satisfied_rate", "满意率"),
    ("solved_rate", "解决率"),
    # issue 21: the customers' own ratings on the self-service page, apart from the callback's survey above
    ("customer_ratings", "自助评价数"),
    ("customer_rating_average", "自助评价均分"),
    ("customer_satisfied_rate", "自助评价满意率"),
    ("tasks_12345_on_time_rate", "12345按时率"),
)
UNIT_COLUMNS = (
    ("rank", "排名"),
    ("key", "单位"),
    ("received", "受理量"),
    ("on_time_rate", "按时率"),
    ("breaches", "超时"),
    ("returns", "退单"),
    ("extensions_requested", "延期申请"),
    ("complaints", "投诉"),
    ("satisfaction_average", "满意度"),
    ("customer_rating_average", "自助评价"),
    ("solved_rate", "解决率"),
)
BREACH_COLUMNS = (("ticket", "工单"), ("clock", "时限"), ("unit", "单位"), ("late_minutes", "超时（分钟）"))
SURVEY_COLUMNS = (("text", "调查问题"), ("answers", "回答数"), ("average", "平均分（是否题为“是”的比例）"))
COMPLAINT_COLUMNS = (
    ("ticket", "工单"),
    ("unit", "单位"),
    ("level", "等级"),
    ("repeat", "重复"),
    ("collective", "集体"),
)
RATES = {
    "first_contact_rate",
    "on_time_rate",
    "reopen_rate",
    "satisfied_rate",
    "customer_satisfied_rate",
    "solved_rate",
    "tasks_12345_on_time_rate",
}
FONT = "Noto Sans CJK SC"
STYLE = (
    '@page { size: A4; margin: 16mm 14mm; @bottom-center { content: counter(page) " / " counter(pages); } }'
    f' body {{ font-family: "{FONT}", sans-serif; font-size: 9.5pt; color: #222; }}'
    " h1 { font-size: 16pt; margin: 0 0 2mm; }"
    " h2 { font-size: 11.5pt; margin: 6mm 0 2mm; border-bottom: 1px solid #999; }"
    " table { border-collapse: collapse; width: 100%; }"
    " th, td { border: 1px solid #bbb; padding: 1.2mm 2mm; text-align: left; }"
    " thead th { background: #eef2f7; } .meta { color: #555; } img { width: 100%; }"
)


def shown(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name in RATES:
        return f"{value:.1%}"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def chart_png(units: list[dict[str, Any]]) -> bytes:
    """On-time rate and average satisfaction per unit, in ranking order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = [FONT, "DejaVu Sans"]
    names = [u["key"] for u in units] or ["-"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    left.bar(names, [100 * (u["on_time_rate"] or 0) for u in units] or [0], color="tab:blue")
    left.set_title("按时率 %")
    left.set_ylim(0, 105)
    right.bar(names, [u["satisfaction_average"] or 0 for u in units] or [0], color="tab:green")
    right.set_title("满意度均分")
    right.set_ylim(0, 5)
    for axis in (left, right):
        axis.tick_params(axis="x", labelrotation=30, labelsize=8)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=110)
    plt.close(figure)
    return out.getvalue()


def _table(columns: tuple[tuple[str, str], ...], rows: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{escape(title)}</th>" for _, title in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(shown(name, row.get(name)))}</td>" for name, _ in columns) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body or '<tr><td>无</td></tr>'}</tbody></table>"


EMPTY_PERIOD = "本期未受理工单，各项指标为零或无数据。"  # a period without tickets still gets its bulletin


def _empty_note(summary: dict[str, Any]) -> str:
    return f'<p class="meta">{EMPTY_PERIOD}</p>' if not summary.get("received") else ""


def bulletin_html(content: dict[str, Any], chart: bytes) -> str:
    summary = content["summary"]
    summary_rows = "".join(
        f"<tr><th>{escape(title)}</th><td>{escape(shown(name, summary.get(name)))}</td></tr>"
        for name, title in SUMMARY_ROWS
    )
    image = base64.b64encode(chart).decode()
    period = f"{escape(content['period_start'])} 至 {escape(content['period_end'])}"
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>{STYLE}</style></head><body>
<h1>{escape(content["title"])}</h1>
<p class="meta">统计期间：{period}（按受理日期）；发布：{escape(content["published_by"])}</p>
<h2>一、总体情况</h2>{_empty_note(summary)}<table><tbody>{summary_rows}</tbody></table>
<h2>二、单位排名</h2>{_table(UNIT_COLUMNS, content["units"])}
<img alt="按时率与满意度" src="data:image/png;base64,{image}">
<h2>三、超时最严重的工单</h2>{_table(BREACH_COLUMNS, content["worst_breaches"])}
<h2>四、重点投诉</h2>{_table(COMPLAINT_COLUMNS, content["worst_complaints"])}
<h2>五、满意度调查</h2>{_table(SURVEY_COLUMNS, content.get("survey", []))}
</body></html>"""


def bulletin_pdf(content: dict[str, Any], chart: bytes) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=bulletin_html(content, chart)).write_pdf()
    return pdf


def bulletin_xlsx(content: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.worksheets[0]
    summary.title = "总体情况"
    summary.append([content["title"]])
    summary.append(["统计期间", content["period_start"], content["period_end"]])
    for name, title in SUMMARY_ROWS:
        summary.append([title, content["summary"].get(name)])
    if not content["summary"].get("received"):
        summary.append([EMPTY_PERIOD])
    for title, columns, rows in (
        ("单位排名", UNIT_COLUMNS, content["units"]),
        ("超时工单", BREACH_COLUMNS, content["worst_breaches"]),
        ("重点投诉", COMPLAINT_COLUMNS, content["worst_complaints"]),
        ("满意度调查", SURVEY_COLUMNS, content.get("survey", [])),
    ):
        sheet = book.create_sheet(title)
        sheet.append([t for _, t in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([row.get(name) for name, _ in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
