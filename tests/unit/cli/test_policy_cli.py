"""The `hotline policy` contract: one instant on stdout, or one line on stderr and exit status 2."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotline.cli import main

pytestmark = pytest.mark.unit


@dataclass
class Run:
    code: int
    out: str
    err: str


Hotline = Callable[..., Run]


@pytest.fixture
def hotline(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Hotline:
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(tmp_path))  # no admin files unless a test writes them

    def run(*args: str) -> Run:
        monkeypatch.setattr(sys, "argv", ["hotline", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        captured = capsys.readouterr()
        return Run(int(exited.value.code or 0), captured.out, captured.err)

    return run


DEADLINES = [
    (
        ["--category", "repair", "--clock", "resolve", "--start", "2026-11-27T15:00:00+08:00"],
        "2026-12-02T15:00:00+08:00",
    ),
    (
        ["--category", "repair", "--clock", "contact", "--start", "2026-11-27T15:00:00+08:00"],
        "2026-11-27T17:00:00+08:00",
    ),
    (
        ["--category", "consultation", "--clock", "resolve", "--start", "2026-11-27T15:00:00+08:00"],
        "2026-11-30T15:00:00+08:00",
    ),
    (
        ["--category", "alarm", "--clock", "dispatch", "--start", "2026-11-27T15:00:00+08:00"],
        "2026-11-27T15:05:00+08:00",
    ),
    (
        ["--category", "complaint", "--level", "1", "--clock", "handle", "--start", "2026-11-27T15:00:00+08:00"],
        "2026-11-29T15:00:00+08:00",
    ),
    (
        [
            "--category",
            "service_request",
            "--subtype",
            "installation",
            "--clock",
            "resolve",
            "--start",
            "2026-09-30T09:00:00+08:00",
        ],
        "2026-10-15T09:00:00+08:00",
    ),  # make-up Saturday 10 Oct counts
    # An instant in another offset is answered in the branch's zone.
    (["--category", "repair", "--clock", "dispatch", "--start", "2026-11-27T07:00:00Z"], "2026-11-27T15:05:00+08:00"),
    # The Saturday worked example and the eve of National Day.
    (
        ["--category", "alarm", "--clock", "callback", "--start", "2026-11-28T10:00:00+08:00"],
        "2026-12-01T00:00:00+08:00",
    ),
    (
        ["--category", "suggestion", "--clock", "callback", "--start", "2026-09-30T20:00:00+08:00"],
        "2026-10-08T20:00:00+08:00",
    ),
]


@pytest.mark.parametrize(("args", "expected"), DEADLINES)
def test_deadline_prints_one_instant_in_the_branch_zone(hotline: Hotline, args: list[str], expected: str) -> None:
    run = hotline("policy", "deadline", *args)
    assert (run.code, run.out, run.err) == (0, expected + "\n", "")


BAD = [
    (["--category", "gas", "--clock", "dispatch", "--start", "2026-11-27T15:00:00+08:00"], "--category"),
    (
        [
            "--category",
            "service_request",
            "--subtype",
            "demolition",
            "--clock",
            "dispatch",
            "--start",
            "2026-11-27T15:00:00+08:00",
        ],
        "--subtype",
    ),
    (
        [
            "--category",
            "repair",
            "--subtype",
            "installation",
            "--clock",
            "dispatch",
            "--start",
            "2026-11-27T15:00:00+08:00",
        ],
        "--subtype",
    ),
    (["--category", "alarm", "--clock", "contact", "--start", "2026-11-27T15:00:00+08:00"], "--clock"),
    (["--category", "praise", "--clock", "callback", "--start", "2026-11-27T15:00:00+08:00"], "--clock"),
    (["--category", "query", "--clock", "dispatch", "--start", "2026-11-27T15:00:00+08:00"], "--clock"),
    (["--category", "repair", "--clock", "soon", "--start", "2026-11-27T15:00:00+08:00"], "--clock"),
    (["--category", "complaint", "--clock", "handle", "--start", "2026-11-27T15:00:00+08:00"], "--level"),
    (
        ["--category", "complaint", "--level", "4", "--clock", "handle", "--start", "2026-11-27T15:00:00+08:00"],
        "--level",
    ),
    (["--category", "repair", "--clock", "resolve", "--start", "yesterday"], "--start"),
    (["--category", "repair", "--clock", "resolve", "--start", "2026-02-30T10:00:00+08:00"], "--start"),
    (["--category", "repair", "--clock", "resolve", "--start", "2026-12-30T10:00:00+08:00", "--strict"], "--strict"),
    (
        ["--category", "repair", "--clock", "resolve", "--start", "2026-11-27T15:00:00+08:00", "--branch", "nowhere"],
        "--branch",
    ),
    (["--category", "repair", "--clock", "resolve"], "--start"),
    (["--category", "repair", "--clock", "resolve", "--start", "2026-11-27T15:00:00+08:00", "--bogus"], "--bogus"),
]


@pytest.mark.parametrize(("args", "argument"), BAD)
def test_bad_input_is_one_line_naming_the_argument_and_status_two(
    hotline: Hotline, args: list[str], argument: str
) -> None:
    run = hotline("policy", "deadline", *args)
    assert run.code == 2 and run.out == ""
    assert run.err.count("\n") == 1 and argument in run.err and "Traceback" not in run.err


def test_a_provisional_deadline_prints_with_a_warning_naming_the_year(hotline: Hotline) -> None:
    run = hotline(
        "policy", "deadline", "--category", "repair", "--clock", "resolve", "--start", "2026-12-30T10:00:00+08:00"
    )
    assert run.code == 0 and run.out == "2027-01-04T10:00:00+08:00\n"
    assert "2027" in run.err and "provisional" in run.err


def test_a_year_file_dropped_in_the_config_folder_is_used(hotline: Hotline, tmp_path: Path) -> None:
    (tmp_path / "calendars").mkdir()
    (tmp_path / "calendars" / "2027.toml").write_text(
        'year = 2027\n[holidays]\n"2027-01-01" = "New Year\'s Day"\n"2027-01-04" = "test closure"\n'
    )
    run = hotline(
        "policy",
        "deadline",
        "--category",
        "repair",
        "--clock",
        "resolve",
        "--start",
        "2026-12-30T10:00:00+08:00",
        "--strict",
    )
    assert (run.code, run.out, run.err) == (0, "2027-01-06T10:00:00+08:00\n", "")


def test_a_branch_file_with_a_stricter_local_limit_is_used(hotline: Hotline, tmp_path: Path) -> None:
    (tmp_path / "branches").mkdir()
    (tmp_path / "branches" / "gx.toml").write_text('[limits.complaint]\nhandle_level_3 = "1h"\n')
    run = hotline(
        "policy",
        "deadline",
        "--category",
        "complaint",
        "--level",
        "3",
        "--clock",
        "handle",
        "--start",
        "2026-11-27T15:00:00+08:00",
        "--branch",
        "gx",
    )
    assert run.out == "2026-11-27T16:00:00+08:00\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--reply-received", "2026-11-27T20:59:00+08:00"], "2026-11-27T20:59:00+08:00"),
        (["--reply-received", "2026-11-27T21:00:00+08:00"], "2026-11-28T08:00:00+08:00"),
        (["--reply-received", "2026-11-28T07:59:00+08:00"], "2026-11-28T08:00:00+08:00"),
        (["--previous-attempt", "2026-11-27T19:00:00+08:00"], "2026-11-28T08:00:00+08:00"),
        (["--previous-attempt", "2026-11-27T18:59:00+08:00"], "2026-11-27T20:59:00+08:00"),
    ],
)
def test_next_callback(hotline: Hotline, args: list[str], expected: str) -> None:
    run = hotline("policy", "next-callback", *args)
    assert (run.code, run.out, run.err) == (0, expected + "\n", "")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--reply-received", "2026-11-27T20:59:00+08:00", "--previous-attempt", "2026-11-27T20:59:00+08:00"],
        ["--previous-attempt", "noon"],
    ],
)
def test_next_callback_bad_input(hotline: Hotline, args: list[str]) -> None:
    run = hotline("policy", "next-callback", *args)
    assert run.code == 2 and run.out == "" and run.err.count("\n") == 1


def test_calendar_lists_holidays_and_make_up_days(hotline: Hotline) -> None:
    run = hotline("policy", "calendar", "2026")
    assert run.code == 0
    off, makeup = run.out.split("make-up working days")
    assert "2026-10-01" in off and "2026-02-17" in off and "2026-11-28" in off
    assert "2026-10-10" not in off and "2026-02-14" not in off
    for day in ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"):
        assert day in makeup


def test_calendar_of_a_missing_year_warns_or_refuses(hotline: Hotline) -> None:
    run = hotline("policy", "calendar", "2031")
    assert run.code == 0 and "2031" in run.err
    strict = hotline("policy", "calendar", "2031", "--strict")
    assert strict.code == 2 and strict.out == "" and "2031" in strict.err


def test_the_console_script_itself_behaves_the_same() -> None:
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "hotline",
            "policy",
            "deadline",
            "--category",
            "repair",
            "--clock",
            "contact",
            "--start",
            "2026-11-27T15:00:00+08:00",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ok.returncode, ok.stdout) == (0, "2026-11-27T17:00:00+08:00\n")
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "hotline",
            "policy",
            "deadline",
            "--category",
            "x",
            "--clock",
            "dispatch",
            "--start",
            "2026-11-27T15:00:00+08:00",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1
