"""What each kind of text says. A gateway sends an approved template with its parameters (the provider renders it);
the `log` backend and the length checks render the same words here, so the template registered at the provider must
read exactly as TEMPLATES does (README: 短信).

A carrier bills a text of at most 70 characters as one message; a longer one goes out in parts of 67 (the rest of each
part carries the joining header). The sign counts: 【常州一网通办】 is 8 of them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from sms.models import Outgoing

SIGNATURE = "【常州一网通办】"
CODE_MINUTES = 10
SINGLE_SEGMENT = 70
PART_SEGMENT = 67

# Per kind, the template's words after the sign; {name} are its parameters, in the order Tencent's {1}, {2} … take.
TEMPLATES: dict[str, str] = {
    "verification_code": "验证码 {code}，" + f"{CODE_MINUTES}分钟内有效",
    "account_exists": (
        "您已开通账户，请直接登录。如需在新手机上使用，请在已登录的设备上添加通行密钥，"
        "或凭身份证到政务服务窗口领取开户码。如非本人操作，请忽略本短信"
    ),
    "case_step": "您的办件{case_no}{step}，详情：{link}",
    # For a resident whose account reads English (i18n): the step in English, the sign as approved (a sign is Chinese).
    "case_step_en": "Your case {case_no}: {step_en}. Details: {link}",
}
# A kind in another language, and the Chinese kind a gateway sends instead while no template for it is approved there
# (SMS_TEMPLATE_CASE_STEP_EN unset): the Chinese words travel with every text, so none is lost for want of one.
IN_CHINESE = {"case_step_en": "case_step"}
_PARAM = re.compile(r"\{(\w+)\}")


def verification_code(phone: str, code: str) -> Outgoing:
    return Outgoing(phone=phone, template="verification_code", params={"code": code})


def account_exists(phone: str) -> Outgoing:
    """Sent instead of a code to someone who already has an account: the page must not say so, the phone may."""
    return Outgoing(phone=phone, template="account_exists", params={})


def as_approved(message: Outgoing, templates: Mapping[str, str]) -> Outgoing:
    """The text a gateway can send: in its own kind when the provider has that template, else in Chinese."""
    chinese = IN_CHINESE.get(message.template)
    if chinese is None or templates.get(message.template):
        return message
    return Outgoing(phone=message.phone, template=chinese, params=message.params)


def param_names(template: str) -> list[str]:
    """The parameters of a kind, in their order in the words."""
    return _PARAM.findall(TEMPLATES[template])


def render(template: str, params: dict[str, str], signature: str = SIGNATURE) -> str:
    """The text as the phone shows it."""
    return signature + TEMPLATES[template].format(**params)


def segments(text: str) -> list[str]:
    """The parts a carrier sends `text` in."""
    if len(text) <= SINGLE_SEGMENT:
        return [text]
    return [text[i : i + PART_SEGMENT] for i in range(0, len(text), PART_SEGMENT)] or [text]


def segment_count(text: str) -> int:
    return 1 if len(text) <= SINGLE_SEGMENT else math.ceil(len(text) / PART_SEGMENT)


def mask_phone(phone: str) -> str:
    """`138****0011`, as the log shows a number (the same form as app.people.identity.mask_mobile, which pages use;
    this unit may not import app/)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 2) + digits[-2:]
