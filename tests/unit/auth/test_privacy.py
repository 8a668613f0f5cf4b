"""Masking rules, from tables of cases (RULES.md §6)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.privacy import (
    TAIL,
    mask_account,
    mask_address,
    mask_data,
    mask_employer,
    mask_id_number,
    mask_ip,
    mask_name,
    mask_phone,
    mask_text,
    phone_digits,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "masked"),
    [("张三", "张*"), ("张小明", "张*明"), ("欧阳小明", "欧**明"), ("李", "*"), (" 王五 ", "王*")],
)
def test_name(raw: str, masked: str) -> None:
    assert mask_name(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("008613812345678", "138****5678"),
        ("0771-5678678", "0771-****678"),
        ("07715678678", "0771-****678"),
        ("010-12345678", "010-****678"),
        ("+86 771 5678678", "0771-****678"),
        ("5678678", "****678"),
        ("123", "****"),
    ],
)
def test_phone(raw: str, masked: str) -> None:
    assert mask_phone(raw) == masked


def test_phone_digits_normalise_prefixes() -> None:
    assert phone_digits("+86 138-1234-5678") == phone_digits("13812345678") == "13812345678"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("45010219900101123X", "**************123X"),
        ("45010219900101123x", "**************123X"),
        ("450102900101123", "***********1123"),
    ],
)
def test_id_number_keeps_only_last_four(raw: str, masked: str) -> None:
    assert mask_id_number(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("广西壮族自治区南宁市青秀区民族大道100号", "广西壮族自治区南宁市青秀区***"),
        ("南宁市青秀区民族大道100号3栋2单元", "南宁市青秀区***"),
        ("北京市朝阳区建国路88号", "北京市朝阳区***"),
        ("上海市浦东新区张江路1号", "上海市浦东新区***"),
        ("广东省广州市天河区体育西路", "广东省广州市天河区***"),
        ("幸福小区3栋", "幸福***"),
        ("民族大道 100号", "民族大道***"),
    ],
)
def test_address_keeps_up_to_the_district(raw: str, masked: str) -> None:
    assert mask_address(raw) == masked


def test_employer_and_ip() -> None:
    assert mask_employer("南宁市第一人民医院") == "南宁***"
    assert mask_ip("192.168.1.23") == "192.168.*.*"
    assert mask_ip("2001:db8::1") == "2001:0db8:*"
    assert mask_ip("not-an-ip") == "****"


def test_free_text_patterns() -> None:
    text = "来电 13812345678 / +8613912345678, 身份证 45010219900101123X, 座机 0771-5678678"
    masked = mask_text(text)
    for raw in ("13812345678", "13912345678", "45010219900101123X", "5678678"):
        assert raw not in masked
    assert "138****5678" in masked and "**************123X" in masked
    # numbers that are not phone or ID numbers stay
    assert mask_text("ticket 20250314000123 amount 12345") == "ticket 20250314000123 amount 12345"


def test_mapping_masks_by_key_and_pattern() -> None:
    data = {
        "caller_phone": 13812345678,
        "customer_name": "张小明",
        "home_address": "南宁市青秀区民族大道100号",
        "notes": ["id 450102199001011234"],
        "count": 3,
        "urgent": True,
    }
    assert mask_data(data) == {
        "caller_phone": "138****5678",
        "customer_name": "张*明",
        "home_address": "南宁市青秀区***",
        "notes": ["id **************1234"],
        "count": 3,
        "urgent": True,
    }


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_any_mobile_number_is_masked_and_masking_is_idempotent(number: str) -> None:
    masked = mask_phone(number)
    assert masked == number[:3] + "****" + number[-4:]
    assert mask_phone(masked) == masked
    assert number not in mask_text(f"call {number} now")


def test_a_value_is_trusted_as_masked_only_in_the_exact_shape_a_masker_produces() -> None:
    # issue 14 #1: `*` anywhere in a value used to mean "already masked"
    assert mask_name("*司马泄露") == "****露"
    assert mask_phone("*13812345678") == "138****5678"
    assert mask_address("*南宁市青秀区民族大道100号").endswith(TAIL)
    assert "民族大道" not in mask_address("*南宁市青秀区民族大道100号")
    assert mask_employer("*南宁市第一人民医院") == "*南***"
    assert mask_ip("*192.168.1.23") == "****"
    for masked in ("138****5678", "0771-****678", "****678"):
        assert mask_phone(masked) == masked
    assert mask_ip("192.168.*.*") == "192.168.*.*"
    assert mask_name(mask_name("欧阳小明")) == "欧**明"


def test_free_text_catches_every_way_a_number_is_written_and_leaves_ids_alone() -> None:
    for raw, shown in (
        ("139 8765 0033", "139****0033"),
        ("139-8765-0044", "139****0044"),
        ("+86 139 8765 0055", "139****0055"),
        ("07715558765", "0771-****765"),
        ("(0771)5557654", "0771-****654"),
        ("（0771）5557654", "0771-****654"),
        ("１３９８７６５００６６", "139****0066"),
        ("450102900101123", "***********1123"),
        ("zhang.wei@example.com", "z***@example.com"),
    ):
        assert mask_text(f"来电 {raw} 。") == f"来电 {shown} 。", raw
    for untouched in (
        "a1381234-5678-9012-3456-abcdefabcdef",
        "DEMO-20261127-000001",
        "2026-10-10T18:00:00+08:00",
        "ticket 20250314000123 amount 12345",
    ):
        assert mask_text(untouched) == untouched


def test_account_numbers_keep_only_their_last_four() -> None:
    assert mask_account("GAS-88776655") == "********6655"
    assert mask_account(mask_account("GAS-88776655")) == "********6655"
    assert mask_data({"account_number": "A-001"}) == {"account_number": "***01"}
