"""`hotline knowledge import` / `export`: all-or-nothing import with a report, a round trip, exit 2 on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app

pytestmark = pytest.mark.unit

GOOD = """title,body,category,subtype,tags,review_by
燃气表不走字怎么办,先检查表前阀是否打开，再更换表内电池。,repair,,燃气表;不走字,2027-06-30
如何申请入户安检,拨打客服热线预约安检时间。,service_request,safety_inspection,安检,
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'knowledge.db'}"


def test_import_then_export_round_trips(tmp_path: Path, db: str) -> None:
    faq = tmp_path / "faq.csv"
    faq.write_text(GOOD, encoding="utf-8")
    code, out, _ = run("knowledge", "import", str(faq), "--branch", "demo", "--database-url", db)
    assert code == 0 and "2 articles imported and published" in out
    code, exported, _ = run("knowledge", "export", "--branch", "demo", "--database-url", db)
    assert code == 0
    lines = exported.splitlines()
    assert lines[0].startswith("article_id,title,body,category")
    assert [line.split(",")[1] for line in lines[1:]] == ["燃气表不走字怎么办", "如何申请入户安检"]
    # the export is itself an importable FAQ (its ids are ignored)
    again = tmp_path / "again.csv"
    again.write_text(exported, encoding="utf-8")
    other = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    assert run("knowledge", "import", str(again), "--branch", "demo", "--database-url", other)[0] == 0


def test_one_bad_row_imports_nothing_and_the_report_names_each_row(tmp_path: Path, db: str) -> None:
    faq = tmp_path / "faq.csv"
    faq.write_text(GOOD + "x,,gas,,,\n报装要什么材料,身份证和房产证。,service_request,demolition,,\n", encoding="utf-8")
    code, out, err = run("knowledge", "import", str(faq), "--branch", "demo", "--database-url", db)
    assert code == 2
    assert "line 4 (x): title:" in out and "category:" in out and "line 5 (报装要什么材料): subtype:" in out
    assert err.strip() == "hotline: error: FILE: 2 of 4 rows rejected; nothing was imported"
    code, exported, _ = run("knowledge", "export", "--branch", "demo", "--database-url", db)
    assert code == 0 and exported.count("\n") == 1  # the header only


def test_a_markdown_folder_with_front_matter(tmp_path: Path, db: str) -> None:
    folder = tmp_path / "faq"
    folder.mkdir()
    (folder / "01.md").write_text(
        "---\ncategory: alarm\ntags: [漏气]\n---\n# 闻到燃气味怎么办\n\n立即关闭总阀。", encoding="utf-8"
    )
    (folder / "02.md").write_text("# 阶梯气价怎么算\n\n按年度用气量分档。", encoding="utf-8")
    code, out, _ = run("knowledge", "import", str(folder), "--branch", "demo", "--database-url", db)
    assert code == 2 and "02.md" in out and "category" in out  # no category anywhere in 02.md
    (folder / "02.md").write_text(
        "---\ncategory: consultation\n---\n# 阶梯气价怎么算\n\n按年度用气量分档。", encoding="utf-8"
    )
    code, out, _ = run("knowledge", "import", str(folder), "--branch", "demo", "--database-url", db)
    assert code == 0, out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,answer\nx,y\n", "missing column(s) title, body, category"),
        ("", "the CSV file has no header row"),
    ],
)
def test_a_file_that_is_no_faq_is_one_line_and_exit_2(tmp_path: Path, db: str, content: str, message: str) -> None:
    faq = tmp_path / "faq.csv"
    faq.write_text(content, encoding="utf-8")
    code, _, err = run("knowledge", "import", str(faq), "--branch", "demo", "--database-url", db)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err


def test_missing_file_and_unknown_branch(tmp_path: Path, db: str) -> None:
    assert run("knowledge", "import", str(tmp_path / "none.csv"), "--branch", "demo", "--database-url", db)[0] == 2
    faq = tmp_path / "faq.csv"
    faq.write_text(GOOD, encoding="utf-8")
    code, _, err = run("knowledge", "import", str(faq), "--branch", "nowhere", "--database-url", db)
    assert code == 2 and "--branch" in err
