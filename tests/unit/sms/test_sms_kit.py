"""The SMS kit's pure parts: numbers an SMS can reach, the per-branch adapter, the delivery-report signature."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.infra.kannel import decode_fake
from shared.sms import InvalidPhone, SmsSettings, mobile_number
from shared.sms.gateways import dlr_signature
from shared.sms.settings import branch_sms


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("13800001001", "+8613800001001"), ("+86 138 0000 1001", "+8613800001001"), ("138-0000-1001", "+8613800001001")],
)
def test_mobile_numbers_are_kept_in_e164(raw: str, e164: str) -> None:
    assert mobile_number(raw) == e164


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("0771-5550101", "not a mobile number"),  # a landline cannot take an SMS
        ("12345", "not a valid phone number"),
        ("not a number", "not a phone number"),
        ("1380000100", "not a valid phone number"),
    ],
)
def test_a_number_an_sms_cannot_reach_is_refused_with_the_reason_and_the_number_masked(raw: str, why: str) -> None:
    with pytest.raises(InvalidPhone) as raised:
        mobile_number(raw)
    assert why in str(raised.value)
    if len(raw) > 6:
        assert raw not in str(raised.value)


def test_the_delivery_report_signature_depends_on_the_secret_and_the_message() -> None:
    assert dlr_signature("a", 1) == dlr_signature("a", 1)
    assert dlr_signature("a", 1) != dlr_signature("a", 2)
    assert dlr_signature("a", 1) != dlr_signature("b", 1)


def test_fakesmsc_lines_decode_to_the_text_that_was_sent() -> None:
    assert decode_fake("ucs-2", "q%C3l%14TJ%8Bf%00+mK%8B%D5") == "燃气告警 测试"
    assert decode_fake("text", "hello+there") == "hello there"


def test_settings_choose_an_adapter_per_branch(tmp_path: Path) -> None:
    (tmp_path / "branches").mkdir()
    (tmp_path / "branches" / "north.toml").write_text('[sms]\nadapter = "smpp"\nsender = "95001"\n')
    env = {"HOTLINE_CONFIG_DIR": str(tmp_path)}
    settings = SmsSettings()
    assert branch_sms("north", settings, env).adapter == "smpp"
    assert branch_sms("north", settings, env).sender == "95001"
    assert branch_sms("default", settings, env).adapter == "kannel"


def test_the_kannel_harness_joins_the_parts_of_a_long_sms(tmp_path: Path) -> None:
    import io

    from hotline.infra.kannel import KannelProcess

    kannel = KannelProcess(tmp_path)
    lines = (
        "x DEBUG: Got message 1: <95007 +8613907710101 udh %05%00%03%07%02%01 data q%C3l%14>\n"
        "x DEBUG: Got message 2: <95007 +8613907710101 udh %05%00%03%07%02%02 data b%A5%8Bf>\n"
    )
    kannel._read_fake(io.BytesIO(lines.encode()))
    assert [(m.to, m.text) for m in kannel.received()] == [("+8613907710101", "燃气报警")]
