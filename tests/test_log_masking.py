import logging

import pytest

from app.web.logging import MaskIdNumbers, mask_id_numbers


def test_id_numbers_are_masked_wherever_they_appear() -> None:
    assert mask_id_numbers("用户 320402199403150119 登录") == "用户 320402********0119 登录"
    assert mask_id_numbers("id=11010519491231002x,") == "id=110105********002x,"
    assert mask_id_numbers("order 1234567890123456789012") == "order 1234567890123456789012"


def test_log_records_leave_no_clear_id_number(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.masking")
    logger.addFilter(MaskIdNumbers())
    with caplog.at_level(logging.INFO, logger="test.masking"):
        logger.info("lookup of %s failed", "320402199403150119")
    assert "320402199403150119" not in caplog.text
    assert "320402********0119" in caplog.text
