import aiohttp
from py_vapid import Vapid

class WebPushException(Exception):
    message: str
    # webpush_async raises with aiohttp's response (the synchronous webpush, which we do not use, with requests').
    response: aiohttp.ClientResponse | None
    def __init__(self, message: str, response: aiohttp.ClientResponse | None = None) -> None: ...

async def webpush_async(
    subscription_info: dict[str, str | bytes | dict[str, str | bytes]],
    data: str | None = None,
    vapid_private_key: Vapid | str | None = None,
    vapid_claims: dict[str, str | int] | None = None,
    content_encoding: str = "aes128gcm",
    curl: bool = False,
    # Handed to aiohttp's request as it is: a ClientTimeout (the package's own annotation says float).
    timeout: aiohttp.ClientTimeout | float | None = None,  # noqa: ASYNC109 (the package's signature)
    ttl: int = 0,
    verbose: bool = False,
    headers: dict[str, str | int | float] | None = None,
    aiohttp_session: aiohttp.ClientSession | None = None,
) -> str | aiohttp.ClientResponse: ...
