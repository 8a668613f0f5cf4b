"""`hotline users ...`: a person made from the shell, or one line on stderr naming what is wrong and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app

PASSWORD = "a long enough passphrase\n"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("HOTLINE_IDENTITY_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("HOTLINE_IDENTITY_ARGON2_TIME_COST", "1")
    return ["--database-url", f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"]


def run(args: list[str], stdin: str = PASSWORD) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_a_person_is_added_listed_disabled_and_imported(db: list[str], tmp_path: Path) -> None:
    add = ["users", "add", "--branch", "demo", "--username", "li.na", "--role", "unit_handler", "--unit", "U-QINGXIU"]
    code, out, err = run([*add, "--password-stdin", *db])
    assert (code, err) == (0, "") and "li.na" in out
    code, out, _ = run(["users", "list", "--branch", "demo", *db])
    assert code == 0 and "li.na" in out and "U-QINGXIU" in out and "active" in out
    assert run(["users", "disable", "--username", "li.na", *db])[0] == 0
    assert "disabled" in run(["users", "list", "--branch", "demo", *db])[1]
    hr = tmp_path / "hr.csv"
    hr.write_text("username,display_name,roles\nok.one,甲,agent\nbad.one,乙,boss\n", encoding="utf-8")
    code, out, _ = run(["users", "import", str(hr), "--branch", "demo", *db])
    assert code == 1 and "0 created, 1 rejected" in out and "line 3" in out
    assert "ok.one" not in run(["users", "list", "--branch", "demo", *db])[1]


@pytest.mark.parametrize(
    ("args", "stdin", "argument"),
    [
        (["--username", "a.b", "--role", "boss"], PASSWORD, "--role"),
        (["--username", "a.b", "--role", "unit_handler"], PASSWORD, "--unit"),
        (["--username", "a.b", "--role", "agent"], "short\n", "--password-stdin"),
        (["--username", "a b", "--role", "agent"], PASSWORD, "--username"),
    ],
)
def test_bad_input_is_one_line_naming_the_argument_and_exit_2(
    db: list[str], args: list[str], stdin: str, argument: str
) -> None:
    code, out, err = run(["users", "add", "--branch", "demo", *args, "--password-stdin", *db], stdin)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"hotline: error: {argument}:")


def test_an_unknown_branch_is_refused(db: list[str]) -> None:
    code, _, err = run(
        ["users", "add", "--branch", "nowhere", "--username", "a.b", "--role", "agent", "--password-stdin", *db]
    )
    assert code == 2 and "--branch" in err and "nowhere" in err


def test_machine_keys_are_created_listed_rotated_and_revoked_from_the_shell(db: list[str]) -> None:
    code, out, _ = run(
        ["keys", "create", "--branch", "demo", "--client", "gateway-12345", "--scope", "tickets:create", *db]
    )
    assert code == 0
    key_id = out.split("id:")[1].split()[0]
    key = out.split("key:")[1].split()[0]
    listed = run(["keys", "list", "--branch", "demo", *db])[1]
    assert "gateway-12345" in listed and "active" in listed and key not in listed
    code, out, _ = run(["keys", "rotate", "--id", key_id, *db])
    assert code == 0 and key not in out
    again = run(["keys", "rotate", "--id", key_id, *db])
    assert again[0] == 2 and "revoked" in again[2]
    new_id = out.split('"id": "')[1].split('"')[0]
    assert run(["keys", "revoke", "--id", new_id, *db])[0] == 0
    assert run(["keys", "list", "--branch", "demo", *db])[1].count("revoked") == 2
    assert run(["keys", "revoke", "--id", "nope", *db])[0] == 2
