"""Checks for the identifiers people and organisations type into our forms.

Every check returns a message in the reader's language (i18n: Chinese unless the
request asked for English) that tells the user what is wrong and how to fix it, or
None when the value is fine. The same functions serve the HTML
form and the JSON API, so both give the same answer for the same input.

- 公民身份号码, GB 11643-1999 (check character: ISO 7064 MOD 11-2); the 2023
  外国人永久居留身份证 number (18 characters starting with 9: province of issue,
  nationality, date of birth, serial, the same check character) passes the same check
- 统一社会信用代码, GB 32100-2015 (check character: MOD 31), with the embedded
  组织机构代码 of GB 11714 checked only as a warning
- mainland mobile numbers
"""

import re
from datetime import date
from typing import Literal

from i18n import N_, _

# --- 公民身份号码 (GB 11643-1999) -------------------------------------------

ID_NUMBER_LENGTH = 18
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)
_ASCII_DIGITS = frozenset("0123456789")

# A birth year before this is a typo, not a person: the oldest sample in the
# standard is 1880, so the floor leaves room for real historical records.
_EARLIEST_BIRTH_YEAR = 1800

# Chinese input methods often produce full-width characters; people cannot see
# the difference, so we accept them rather than reject a number that looks right.
_FULL_WIDTH_TO_ASCII = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789xX")


def normalize_id_number(raw: str) -> str:
    """The form we store and compare: no whitespace, ASCII digits, upper-case X."""
    without_spaces = "".join(raw.split())
    return without_spaces.translate(_FULL_WIDTH_TO_ASCII).replace("x", "X")


def check_char(first17: str) -> str:
    """The 18th character of an ID number whose first 17 digits are given."""
    if len(first17) != ID_NUMBER_LENGTH - 1 or not _is_ascii_digits(first17):
        raise ValueError("check_char needs exactly 17 ASCII digits")
    weighted_sum = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[weighted_sum % 11]


def id_number_problem(raw: str, today: date | None = None) -> str | None:
    """What is wrong with an ID number, in words the holder can act on; None if valid."""
    id_number = normalize_id_number(raw)
    if not id_number:
        return _("请填写身份证号码")
    if len(id_number) != ID_NUMBER_LENGTH:
        return _("身份证号码应为18位，您输入了%(count)d位，请核对后重新输入") % {"count": len(id_number)}
    if not _is_ascii_digits(id_number[:17]):
        return _("身份证号码前17位须为数字，请检查是否误输入了字母或符号")
    if id_number[17] not in _ASCII_DIGITS and id_number[17] != "X":
        return _("身份证号码最后一位应为数字或字母X，请核对")
    birth_date = _birth_date_or_none(id_number)
    if birth_date is None:
        return _("身份证号码中的出生日期无效（第7至14位），请核对")
    if birth_date > (today or date.today()):
        return _("身份证号码中的出生日期不能晚于今天（第7至14位），请核对")
    if check_char(id_number[:17]) != id_number[17]:
        return _("身份证号码校验位不正确，请核对号码，可能有一位输错或两位顺序颠倒")
    return None


def is_valid_id_number(raw: str, today: date | None = None) -> bool:
    return id_number_problem(raw, today) is None


def mask_id_number(id_number: str) -> str:
    """Show enough to recognise a number on screen, never enough to reuse it.

    A well-formed number keeps its region code and last 4 characters. Anything
    else (a typo, a partial value) keeps only its last 4, and a value of 4
    characters or fewer is masked completely, so a bad value cannot leak whole.
    """
    normalized = normalize_id_number(id_number)
    if len(normalized) == ID_NUMBER_LENGTH:
        return normalized[:6] + "*" * 8 + normalized[-4:]
    if len(normalized) <= 4:
        return "*" * len(normalized)
    return "*" * (len(normalized) - 4) + normalized[-4:]


def grouped_id_number(shown: str) -> str:
    """An 18-character number (masked or not) as people read it out: region 6, birth date 8, the last 4
    (`320402 ******** 0119`). Anything else is left as it is."""
    if len(shown) != ID_NUMBER_LENGTH:
        return shown
    return f"{shown[:6]} {shown[6:14]} {shown[14:]}"


def birth_date_of(id_number: str) -> date:
    """The birth date encoded in a well-formed ID number (ValueError otherwise)."""
    normalized = _require_well_formed_digits(id_number)
    birth_date = _birth_date_or_none(normalized)
    if birth_date is None:
        raise ValueError(N_("身份证号码中的出生日期无效"))
    return birth_date


def sex_of(id_number: str) -> Literal["M", "F"]:
    """Sex as the standard encodes it: the 3-digit sequence is odd for men, even for women."""
    normalized = _require_well_formed_digits(id_number)
    return "M" if int(normalized[16]) % 2 == 1 else "F"


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit() also accepts '²', '٣' and full-width digits, which int() or
    # date() would then treat inconsistently.
    return all(char in _ASCII_DIGITS for char in text)


def _birth_date_or_none(id_number: str) -> date | None:
    year, month, day = int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])
    if year < _EARLIEST_BIRTH_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _require_well_formed_digits(id_number: str) -> str:
    normalized = normalize_id_number(id_number)
    if len(normalized) != ID_NUMBER_LENGTH or not _is_ascii_digits(normalized[:17]):
        raise ValueError(N_("身份证号码应为18位，前17位为数字"))
    return normalized


# --- 统一社会信用代码 (GB 32100-2015) ---------------------------------------

CREDIT_CODE_LENGTH = 18
# The letters I, O, S, V and Z are left out because they read like 1, 0, 5, U and 2.
_CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_VALUE = {char: value for value, char in enumerate(_CREDIT_CODE_CHARSET)}
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# 组织机构代码 (GB 11714) occupies positions 9–17 of the credit code.
_ORGANISATION_CODE = slice(8, 17)
_ORGANISATION_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def normalize_credit_code(raw: str) -> str:
    """The form we store and compare: no whitespace, ASCII, upper case."""
    without_spaces = "".join(raw.split())
    return without_spaces.translate(_FULL_WIDTH_TO_ASCII).upper()


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a credit code whose first 17 characters are given."""
    if len(first17) != CREDIT_CODE_LENGTH - 1 or any(c not in _CREDIT_CODE_VALUE for c in first17):
        raise ValueError("credit_code_check_char needs 17 characters from the GB 32100 charset")
    weighted_sum = sum(
        _CREDIT_CODE_VALUE[char] * weight for char, weight in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    # 31 − (sum mod 31) lies in 1..31; the standard writes 31 as 0.
    return _CREDIT_CODE_CHARSET[(31 - weighted_sum % 31) % 31]


def credit_code_problem(raw: str) -> str | None:
    """A blocking problem with a 统一社会信用代码, in the reader's language; None if it is well-formed."""
    code = normalize_credit_code(raw)
    if not code:
        return _("请填写统一社会信用代码")
    if len(code) != CREDIT_CODE_LENGTH:
        return _("统一社会信用代码应为18位，您输入了%(count)d位，请对照营业执照核对") % {"count": len(code)}
    unusable = sorted({char for char in code if char not in _CREDIT_CODE_VALUE})
    if unusable:
        return _(
            "统一社会信用代码中不能出现“%(chars)s”，代码只由数字和除I、O、S、V、Z以外的大写字母组成，请对照营业执照核对"
        ) % {"chars": "”“".join(unusable)}
    if credit_code_check_char(code[:17]) != code[17]:
        return _("统一社会信用代码校验位不正确，请对照营业执照核对，可能有一位输错")
    return None


def credit_code_fails_only_its_check(raw: str) -> bool:
    """Whether the code is 18 characters of the GB 32100 charset whose 18th (the check character) is wrong: the
    one problem a register import tolerates, since some codes assigned early in the reform are legal so."""
    code = normalize_credit_code(raw)
    return (
        len(code) == CREDIT_CODE_LENGTH
        and all(char in _CREDIT_CODE_VALUE for char in code)
        and credit_code_check_char(code[:17]) != code[17]
    )


def credit_code_warning(raw: str) -> str | None:
    """A non-blocking doubt about a well-formed credit code; None if there is none.

    Some codes issued early in the reform carry an organisation code that fails
    its own GB 11714 check and are nevertheless legal, so this must never block
    a submission. A code with a blocking problem gets no warning on top of it.
    """
    if credit_code_problem(raw) is not None:
        return None
    organisation_code = normalize_credit_code(raw)[_ORGANISATION_CODE]
    if _organisation_code_check_char(organisation_code[:8]) != organisation_code[8]:
        return _(
            "统一社会信用代码第9至17位（组织机构代码）校验未通过。早期赋码的单位可能如此；请对照营业执照确认无误后继续"
        )
    return None


def _organisation_code_check_char(first8: str) -> str:
    # GB 11714 values digits as themselves and letters from A = 10.
    def value(char: str) -> int:
        return int(char) if char in _ASCII_DIGITS else ord(char) - ord("A") + 10

    weighted_sum = sum(value(char) * weight for char, weight in zip(first8, _ORGANISATION_CODE_WEIGHTS, strict=True))
    check = 11 - weighted_sum % 11
    return {10: "X", 11: "0"}.get(check, str(check))


# --- 手机号码 ---------------------------------------------------------------

_MAINLAND_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def normalize_mobile(raw: str) -> str:
    """The form we store: digits only, without the spaces or hyphens people type for readability."""
    without_separators = "".join(raw.split()).replace("-", "")
    return without_separators.translate(_FULL_WIDTH_TO_ASCII)


def mobile_problem(raw: str) -> str | None:
    """What is wrong with a mainland mobile number, in Chinese; None if it looks valid."""
    mobile = normalize_mobile(raw)
    if not mobile:
        return _("请填写手机号码")
    if not _is_ascii_digits(mobile):
        return _("手机号码只能包含数字，无需加“+86”，请核对")
    if len(mobile) != 11:
        return _("手机号码应为11位，您输入了%(count)d位，请核对") % {"count": len(mobile)}
    if not _MAINLAND_MOBILE.fullmatch(mobile):
        return _("手机号码应以13至19开头，请核对")
    return None


def mask_mobile(mobile: str) -> str:
    """`138****0011`: the first three and last four digits, as carriers print a number; anything shorter than a
    mobile number keeps only its last two."""
    digits = normalize_mobile(mobile)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 2) + digits[-2:]


def mask_name(name: str) -> str:
    """A name as a screen others may see, or a paper handed out, shows it: the family name and, for three characters
    or more, the last one (张*, 周*华, 欧**娜)."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
