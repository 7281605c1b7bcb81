from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.people.identity import (
    birth_date_of,
    check_char,
    credit_code_check_char,
    credit_code_problem,
    credit_code_warning,
    id_number_problem,
    is_valid_id_number,
    mask_id_number,
    mobile_problem,
    normalize_credit_code,
    normalize_id_number,
    normalize_mobile,
    sex_of,
)

# The valid samples quoted in GB 11643-1999 and GB 32100-2015 (see standards.md).
ID_SAMPLES = ["11010519491231002X", "440524188001010014", "34052419800101001X"]
CREDIT_CODE_SAMPLES = ["91350100M000100Y43", "91110000600037341L"]

ID_CHARS = "0123456789X"
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FORBIDDEN_CREDIT_CODE_LETTERS = "IOSVZ"
A_DAY_IN_2025 = date(2025, 6, 1)


def single_character_changes(text: str, alphabet: str) -> list[str]:
    return [
        text[:position] + replacement + text[position + 1 :]
        for position in range(len(text))
        for replacement in alphabet
        if replacement != text[position]
    ]


# --- 公民身份号码 ---------------------------------------------------------


@pytest.mark.parametrize("sample", ID_SAMPLES)
def test_standard_samples_are_valid(sample: str) -> None:
    assert id_number_problem(sample, today=A_DAY_IN_2025) is None
    assert is_valid_id_number(sample, today=A_DAY_IN_2025)


@pytest.mark.parametrize("sample", [s for s in ID_SAMPLES if s.endswith("X")])
def test_lower_case_x_is_accepted_and_stored_upper_case(sample: str) -> None:
    typed = sample.lower()
    assert is_valid_id_number(typed, today=A_DAY_IN_2025)
    assert normalize_id_number(typed) == sample


def test_spaces_and_full_width_digits_are_normalized_away() -> None:
    assert normalize_id_number(" 110105 19491231 002x ") == "11010519491231002X"
    assert normalize_id_number("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"


@pytest.mark.parametrize("sample", ID_SAMPLES)
def test_every_single_character_change_of_a_valid_number_is_refused(sample: str) -> None:
    changes = single_character_changes(sample, ID_CHARS)
    assert len(changes) == 18 * 10
    accepted = [changed for changed in changes if is_valid_id_number(changed, today=A_DAY_IN_2025)]
    assert accepted == []


def test_wrong_length_says_how_many_characters_were_typed() -> None:
    problem = id_number_problem("11010519491231002")
    assert problem is not None
    assert "应为18位" in problem
    assert "17位" in problem


def test_empty_number_asks_to_fill_it_in() -> None:
    assert id_number_problem("   ") == "请填写身份证号码"


def test_letter_among_first_17_is_refused_as_non_digit() -> None:
    problem = id_number_problem("1101051949123100XX")
    assert problem is not None
    assert "前17位须为数字" in problem


def test_superscript_digits_are_not_taken_for_digits() -> None:
    problem = id_number_problem("11010519491231002²")
    assert problem is not None


@pytest.mark.parametrize(
    "first17",
    [
        "11010519490230002",  # 30 February
        "11010519491301002",  # month 13
        "11010519490000002",  # month 0
        "11010520230229002",  # 29 February in a non-leap year
    ],
)
def test_impossible_birth_dates_are_refused(first17: str) -> None:
    problem = id_number_problem(first17 + check_char(first17), today=A_DAY_IN_2025)
    assert problem is not None
    assert "出生日期无效" in problem


def test_leap_day_birth_date_is_accepted() -> None:
    first17 = "11010520000229002"
    assert is_valid_id_number(first17 + check_char(first17), today=A_DAY_IN_2025)


def test_birth_date_after_today_is_refused() -> None:
    first17 = "32040220250602001"
    problem = id_number_problem(first17 + check_char(first17), today=date(2025, 6, 1))
    assert problem is not None
    assert "出生日期不能晚于今天" in problem


def test_baby_born_today_is_accepted() -> None:
    first17 = "32040220250601001"
    assert is_valid_id_number(first17 + check_char(first17), today=date(2025, 6, 1))


def test_future_check_uses_the_real_today_by_default() -> None:
    tomorrow = date.today() + timedelta(days=1)
    first17 = f"320402{tomorrow:%Y%m%d}001"
    assert not is_valid_id_number(first17 + check_char(first17))


def test_wrong_check_character_asks_to_check_the_number() -> None:
    problem = id_number_problem("110105194912310021", today=A_DAY_IN_2025)
    assert problem is not None
    assert "校验位不正确，请核对号码" in problem


def test_check_char_matches_the_standard_samples() -> None:
    assert [check_char(sample[:17]) for sample in ID_SAMPLES] == ["X", "4", "X"]


def test_check_char_refuses_anything_but_17_digits() -> None:
    with pytest.raises(ValueError):
        check_char("1101051949123100")
    with pytest.raises(ValueError):
        check_char("1101051949123100X")


def test_masking_keeps_region_and_last_four() -> None:
    assert mask_id_number("320402199001011234") == "320402********1234"
    assert mask_id_number("11010519491231002x") == "110105********002X"


@pytest.mark.parametrize(
    ("malformed", "masked"),
    [
        ("3204021990010112", "************0112"),
        ("3204021990010112345", "***************2345"),
        ("12345", "*2345"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_masking_a_malformed_number_never_shows_more_than_the_last_four(malformed: str, masked: str) -> None:
    assert mask_id_number(malformed) == masked


def test_birth_date_and_sex_come_from_the_number() -> None:
    assert birth_date_of("11010519491231002X") == date(1949, 12, 31)
    assert sex_of("11010519491231002X") == "F"
    assert birth_date_of("440524188001010014") == date(1880, 1, 1)
    assert sex_of("440524188001010014") == "M"
    assert sex_of("34052419800101001X") == "M"


def test_birth_date_of_a_malformed_number_raises() -> None:
    with pytest.raises(ValueError):
        birth_date_of("1101051949123")
    with pytest.raises(ValueError):
        birth_date_of("11010519491301002X")


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=A_DAY_IN_2025)


@given(
    address_code=st.integers(min_value=0, max_value=999_999),
    birth_date=birth_dates,
    sequence=st.integers(min_value=0, max_value=999),
)
def test_any_prefix_with_its_check_char_is_valid(address_code: int, birth_date: date, sequence: int) -> None:
    first17 = f"{address_code:06d}{birth_date:%Y%m%d}{sequence:03d}"
    id_number = first17 + check_char(first17)
    assert id_number_problem(id_number, today=A_DAY_IN_2025) is None
    assert birth_date_of(id_number) == birth_date
    assert sex_of(id_number) == ("M" if sequence % 2 else "F")


# --- 统一社会信用代码 -------------------------------------------------------


@pytest.mark.parametrize("sample", CREDIT_CODE_SAMPLES)
def test_credit_code_samples_pass_without_problem_or_warning(sample: str) -> None:
    assert credit_code_problem(sample) is None
    assert credit_code_warning(sample) is None


def test_credit_code_typed_in_lower_case_with_spaces_is_accepted() -> None:
    typed = " 91350100m000100y43 "
    assert credit_code_problem(typed) is None
    assert normalize_credit_code(typed) == "91350100M000100Y43"


@pytest.mark.parametrize("sample", CREDIT_CODE_SAMPLES)
def test_every_single_character_change_of_a_credit_code_is_refused(sample: str) -> None:
    changes = single_character_changes(sample, CREDIT_CODE_CHARS + FORBIDDEN_CREDIT_CODE_LETTERS)
    assert len(changes) == 18 * 35
    accepted = [changed for changed in changes if credit_code_problem(changed) is None]
    assert accepted == []


def test_credit_code_with_a_forbidden_letter_names_it() -> None:
    problem = credit_code_problem("91350100M000100O43")
    assert problem is not None
    assert "“O”" in problem


def test_credit_code_of_wrong_length_is_refused() -> None:
    problem = credit_code_problem("91350100M000100Y4")
    assert problem is not None
    assert "应为18位" in problem


def test_credit_code_with_wrong_check_character_is_refused() -> None:
    problem = credit_code_problem("91350100M000100Y44")
    assert problem is not None
    assert "校验位不正确" in problem


def test_failing_organisation_code_only_warns() -> None:
    # Same organisation code as the sample but with its own check digit off by
    # one, and a correct C18: the shape of some early, legal codes.
    first17 = "91350100M000100Y5"
    code = first17 + credit_code_check_char(first17)
    assert credit_code_problem(code) is None
    warning = credit_code_warning(code)
    assert warning is not None
    assert "组织机构代码" in warning


def test_broken_credit_code_gets_a_problem_but_no_extra_warning() -> None:
    assert credit_code_warning("91350100M000100Y44") is None


def test_credit_code_check_char_matches_the_samples() -> None:
    assert [credit_code_check_char(sample[:17]) for sample in CREDIT_CODE_SAMPLES] == ["3", "L"]


# --- 手机号码 ---------------------------------------------------------------


@pytest.mark.parametrize("mobile", ["13812345678", "19912345678", "138 1234 5678", "138-1234-5678"])
def test_mainland_mobile_numbers_are_accepted(mobile: str) -> None:
    assert mobile_problem(mobile) is None


def test_mobile_is_stored_without_separators() -> None:
    assert normalize_mobile("138 1234-5678") == "13812345678"


@pytest.mark.parametrize(
    ("mobile", "hint"),
    [
        ("", "请填写"),
        ("1381234567", "应为11位"),
        ("138123456789", "应为11位"),
        ("12812345678", "13至19"),
        ("23812345678", "13至19"),
        ("+8613812345678", "只能包含数字"),
        ("1381234567a", "只能包含数字"),
        ("1381234567٣", "只能包含数字"),
    ],
)
def test_wrong_mobile_numbers_are_refused_with_a_hint(mobile: str, hint: str) -> None:
    problem = mobile_problem(mobile)
    assert problem is not None
    assert hint in problem
