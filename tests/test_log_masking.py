import logging

import pytest

from config.logging import MaskIdNumbers, mask_id_numbers


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


async def test_the_apps_own_logging_masks_every_handler(app: object) -> None:
    """Litestar configures logging when the app is built: what it installs must mask, for every logger that
    reaches the root (granian, asyncpg, ours) and for litestar's own."""
    for name in ("", "litestar"):
        handlers = [h for h in logging.getLogger(name).handlers if not type(h).__module__.startswith("_pytest")]
        assert handlers, name
        for handler in handlers:
            record = logging.LogRecord(
                "app.probe", logging.WARNING, __file__, 1, "GET /x?on_behalf_of=%s", ("320402199403150119",), None
            )
            assert handler.filter(record)
            assert record.getMessage() == "GET /x?on_behalf_of=320402********0119", (name, handler)


def test_granians_server_and_access_logs_mask_too() -> None:
    from granian.log import LOGGING_CONFIG

    from config.logging import masking

    config = masking(LOGGING_CONFIG)
    assert {"console", "access"} <= set(config["handlers"])
    assert all("mask_id_numbers" in h["filters"] for h in config["handlers"].values())
    assert "filters" not in LOGGING_CONFIG["handlers"]["access"]  # granian's own dict is left as it was


def test_a_malformed_log_call_is_not_the_callers_problem() -> None:
    record = logging.LogRecord("app.probe", logging.WARNING, __file__, 1, "bad %d", ("x",), None)
    assert MaskIdNumbers().filter(record)  # logging reports the bad call itself; nothing raises here
