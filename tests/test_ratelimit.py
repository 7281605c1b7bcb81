from app.web.ratelimit import SlidingWindowLimiter


def test_hits_beyond_the_limit_wait_until_the_window_slides() -> None:
    limiter = SlidingWindowLimiter(3)
    assert [limiter.retry_after("ip", now=t) for t in (0, 1, 2)] == [0, 0, 0]
    assert limiter.retry_after("ip", now=3) > 0
    assert limiter.retry_after("other", now=3) == 0
    assert limiter.retry_after("ip", now=60.5) == 0


def test_zero_disables_the_limit() -> None:
    limiter = SlidingWindowLimiter(0)
    assert all(limiter.retry_after("ip", now=t) == 0 for t in range(1000))
