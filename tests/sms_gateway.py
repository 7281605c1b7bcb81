"""A local SMS gateway that speaks the providers' API shapes, for the SDKs to be pointed at (SMS_ENDPOINT):

- 阿里云 Dysmsapi 2017-05-25 SendSms: an RPC call, `POST /` with the parameters in the query string and the action in
  `x-acs-action`; it answers `{"Code": "OK", "BizId": …, "RequestId": …}` or an error Code with HTTP 200, or an HTTP
  error with a JSON body.
- 腾讯云 SMS 2021-01-11 SendSms: `POST /` with a JSON body, the action in `X-TC-Action`; it answers
  `{"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": …}], "RequestId": …}}` or `{"Response": {"Error": …}}`.

Each request is recorded; `answers` scripts what the next ones get (HTTP status and a provider code), then "OK".
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from aiohttp import web

from config.settings import Settings
from sms.backends import AliyunBackend, SmsBackend, TencentBackend
from tests.database_fixtures import settings_for

# The account and the approved templates of a gateway backend, as the provider's console would give them.
GATEWAY_ENV = {
    "SMS_ACCESS_KEY_ID": "LTAI-test",
    "SMS_ACCESS_KEY_SECRET": "secret-test",
    "SMS_SDK_APP_ID": "1400000000",
    "SMS_TEMPLATE_VERIFICATION_CODE": "SMS_100",
    "SMS_TEMPLATE_ACCOUNT_EXISTS": "SMS_101",
    "SMS_TEMPLATE_CASE_STEP": "SMS_102",
}


class Received(msgspec.Struct, frozen=True, kw_only=True):
    provider: str  # aliyun | tencent
    action: str
    params: dict[str, Any]  # aliyun: the query; tencent: the JSON body
    signed: bool  # the request carries the provider's signature header


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    status: int = 200
    code: str = "OK"


class LocalSmsGateway:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[Answer] = []
        self._runner: web.AppRunner | None = None
        self.endpoint = ""

    async def __aenter__(self) -> LocalSmsGateway:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.endpoint = f"127.0.0.1:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def backend(self, provider: str, settings: Settings, **env: str) -> SmsBackend:
        """The app's backend for `provider` (aliyun | tencent) as the test's `settings` and `env` configure it, with
        GATEWAY_ENV's account and templates, pointed here."""
        assert settings.database_url
        configured = settings_for(
            settings.database_url,
            settings.data_dir,
            SMS_BACKEND=provider,
            SMS_ENDPOINT=self.endpoint,
            **(GATEWAY_ENV | env),
        )
        return AliyunBackend(configured) if provider == "aliyun" else TencentBackend(configured)

    async def _handle(self, request: web.Request) -> web.Response:
        answer = self.answers.pop(0) if self.answers else Answer()
        if "X-TC-Action" in request.headers:
            body = json.loads(await request.read())
            self.received.append(
                Received(
                    provider="tencent",
                    action=request.headers["X-TC-Action"],
                    params=body,
                    signed=request.headers.get("Authorization", "").startswith("TC3-HMAC-SHA256"),
                )
            )
            return self._tencent(answer, body)
        self.received.append(
            Received(
                provider="aliyun",
                action=request.headers.get("x-acs-action", ""),
                params=dict(request.query),
                signed=request.headers.get("Authorization", "").startswith("ACS3-HMAC-SHA256"),
            )
        )
        return self._aliyun(answer)

    def _aliyun(self, answer: Answer) -> web.Response:
        if answer.status != 200:
            code = answer.code if answer.code != "OK" else "InternalError"
            return web.json_response({"Code": code, "Message": "服务暂不可用", "RequestId": "r"}, status=answer.status)
        if answer.code != "OK":
            return web.json_response({"Code": answer.code, "Message": "拒绝", "RequestId": "r"})
        return web.json_response(
            {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(self.received)}", "RequestId": "r"}
        )

    def _tencent(self, answer: Answer, body: dict[str, Any]) -> web.Response:
        if answer.status != 200:
            return web.Response(status=answer.status, text="busy")
        if answer.code == "OK":
            code, message = "Ok", "send success"
        else:
            code, message = answer.code, "拒绝"
        statuses = [
            {
                "SerialNo": f"serial-{len(self.received)}",
                "PhoneNumber": number,
                "Fee": 1,
                "SessionContext": "",
                "Code": code,
                "Message": message,
                "IsoCode": "CN",
            }
            for number in body["PhoneNumberSet"]
        ]
        return web.json_response({"Response": {"SendStatusSet": statuses, "RequestId": "r"}})
