"""The gateways a text leaves through, chosen by SMS_BACKEND; each answers what became of one text (sms.models.Outcome).

- `log`: one line of the server log (INFO, logger `sms`), the number masked: development, the demo, `make run`.
- `aliyun`: 阿里云短信服务 (Dysmsapi 2017-05-25, SendSms) through its SDK, `alibabacloud-dysmsapi20170525`.
- `tencent`: 腾讯云短信 (SMS 2021-01-11, SendSms) through `tencentcloud-sdk-python-sms`.

The SDKs' own retries are off: a retry is the worker's (sms.delivery), through the queue, so it survives the process.
SMS_ENDPOINT points an SDK at another host (plain http: a test double on this machine).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol, cast

from config.settings import Settings
from sms import texts
from sms.models import Outcome, Outgoing, SendResult

log = logging.getLogger("sms")
TIMEOUT_SECONDS = 10


class SmsBackend(Protocol):
    async def send(self, message: Outgoing) -> SendResult:
        """Hand one text to the gateway; never raises for the gateway's answers (the outcome says what happened)."""
        ...


class LogBackend:
    """Development and demo: each text is one line of the server log, as a console e-mail backend writes a mail:
    `短信 → 138****0011: 【常州一网通办】验证码 123456，10分钟内有效`."""

    def __init__(self, signature: str = texts.SIGNATURE) -> None:
        self.signature = signature

    async def send(self, message: Outgoing) -> SendResult:
        text = texts.render(message.template, message.params, self.signature)
        log.info("短信 → %s: %s", texts.mask_phone(message.phone), text)
        return SendResult(outcome="accepted")


def _template_params(message: Outgoing) -> list[str]:
    return [message.params[name] for name in texts.param_names(message.template)]


# --- 阿里云 -------------------------------------------------------------------------------------------------------

# Its answers' Code (https://help.aliyun.com/zh/sms/developer-reference/api-error-codes): flow control is passing, a
# bad number stays bad; anything else (sign, template, account) waits for the operator.
_ALIYUN_RETRY = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isp.SYSTEM_ERROR", "Throttling", "ServiceUnavailable"})
_ALIYUN_BAD_NUMBER = frozenset({"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.DAY_LIMIT_CONTROL"})


class AliyunBackend:
    def __init__(self, settings: Settings) -> None:
        from alibabacloud_dysmsapi20170525.client import Client  # pyright: ignore[reportMissingTypeStubs]
        from alibabacloud_tea_openapi.models import Config  # pyright: ignore[reportMissingTypeStubs]

        endpoint = settings.sms_endpoint or "dysmsapi.aliyuncs.com"
        config = Config(
            access_key_id=settings.sms_access_key_id,
            access_key_secret=settings.sms_access_key_secret,
            endpoint=endpoint,
            # Only a test double named by SMS_ENDPOINT on this machine is spoken to in the clear.
            protocol="http" if _local(endpoint) else "https",
        )
        self._client: Any = Client(config)
        self.sign_name = settings.sms_sign_name
        self.templates = settings.sms_templates

    async def send(self, message: Outgoing) -> SendResult:
        from alibabacloud_dysmsapi20170525 import models  # pyright: ignore[reportMissingTypeStubs]
        from alibabacloud_tea_util.models import RuntimeOptions  # pyright: ignore[reportMissingTypeStubs]

        message = texts.as_approved(message, self.templates)
        names = texts.param_names(message.template)
        request = models.SendSmsRequest(
            phone_numbers=message.phone, sign_name=self.sign_name, template_code=self.templates[message.template]
        )
        if names:  # a template without parameters takes no TemplateParam at all
            request.template_param = json.dumps({n: message.params[n] for n in names}, ensure_ascii=False)
        runtime = RuntimeOptions(
            autoretry=False, connect_timeout=TIMEOUT_SECONDS * 1000, read_timeout=TIMEOUT_SECONDS * 1000
        )
        try:
            response: Any = await self._client.send_sms_with_options_async(request, runtime)
        except Exception as exc:
            return _aliyun_failure(exc)
        body = cast("dict[str, Any]", response.body.to_map())
        code = str(body.get("Code", ""))
        if code == "OK":
            return SendResult(outcome="accepted", provider_id=str(body.get("BizId") or "") or None)
        return SendResult(outcome=_aliyun_outcome(code), error=f"{code}: {body.get('Message', '')}"[:300])


def _aliyun_outcome(code: str) -> Outcome:
    if code in _ALIYUN_RETRY:
        return "retry"
    return "bad-number" if code in _ALIYUN_BAD_NUMBER else "refused"


def _aliyun_failure(exc: Exception) -> SendResult:
    """The SDK raises for an HTTP error (with its status and the gateway's Code) and for no answer at all."""
    status = cast("int | None", getattr(exc, "status_code", None))
    code = str(getattr(exc, "code", None) or "")
    error = f"{type(exc).__name__}: {status or ''} {code} {getattr(exc, 'message', '') or exc}"[:300]
    if status is None or status >= 500 or status in (408, 429) or code in _ALIYUN_RETRY:
        return SendResult(outcome="retry", error=error)
    return SendResult(outcome="bad-number" if code in _ALIYUN_BAD_NUMBER else "refused", error=error)


# --- 腾讯云 -------------------------------------------------------------------------------------------------------

# Error codes (https://cloud.tencent.com/document/product/382/55981): network, internal and frequency limits pass.
_TENCENT_RETRY_PREFIXES = (
    "ServerNetworkError",
    "ClientNetworkError",
    "InternalError",
    "RequestLimitExceeded",
    "LimitExceeded.DeliveryFrequencyLimit",
    "LimitExceeded.PhoneNumberThirtySecondLimit",
    "LimitExceeded.PhoneNumberOneHourLimit",
)
_TENCENT_BAD_NUMBER = frozenset(
    {
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.PhoneNumberInBlacklist",
        "FailedOperation.PhoneNumberParseFail",
        "LimitExceeded.PhoneNumberDailyLimit",
        "LimitExceeded.PhoneNumberSameContentDailyLimit",
    }
)


def _tencent_outcome(code: str) -> Outcome:
    if code.startswith(_TENCENT_RETRY_PREFIXES):
        return "retry"
    return "bad-number" if code in _TENCENT_BAD_NUMBER else "refused"


class TencentBackend:
    def __init__(self, settings: Settings) -> None:
        from tencentcloud.common.credential import Credential  # pyright: ignore[reportMissingTypeStubs]
        from tencentcloud.common.profile.client_profile import ClientProfile  # pyright: ignore[reportMissingTypeStubs]
        from tencentcloud.common.profile.http_profile import HttpProfile  # pyright: ignore[reportMissingTypeStubs]
        from tencentcloud.sms.v20210111 import sms_client_async  # pyright: ignore[reportMissingTypeStubs]

        endpoint = settings.sms_endpoint or "sms.tencentcloudapi.com"
        http = HttpProfile(
            protocol="http" if _local(endpoint) else "https", endpoint=endpoint, reqTimeout=TIMEOUT_SECONDS
        )
        self._client: Any = sms_client_async.SmsClient(
            Credential(settings.sms_access_key_id, settings.sms_access_key_secret),
            settings.sms_region,
            ClientProfile(httpProfile=http),
        )
        self.app_id = settings.sms_sdk_app_id
        self.sign_name = settings.sms_sign_name
        self.templates = settings.sms_templates

    async def send(self, message: Outgoing) -> SendResult:
        from tencentcloud.sms.v20210111 import models  # pyright: ignore[reportMissingTypeStubs]

        message = texts.as_approved(message, self.templates)
        request: Any = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{message.phone}"]
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign_name
        request.TemplateId = self.templates[message.template]
        request.TemplateParamSet = _template_params(message)
        try:
            response: Any = await self._client.SendSms(request)
        except Exception as exc:
            code = getattr(exc, "code", None)
            if code is None:  # not the gateway's answer (an httpx error: no connection, a timeout): try again
                return SendResult(outcome="retry", error=f"{type(exc).__name__}: {exc}"[:300])
            error = f"{code}: {getattr(exc, 'message', None) or exc}"[:300]
            return SendResult(outcome=_tencent_outcome(str(code)), error=error)
        statuses = cast("list[Any]", response.SendStatusSet or [])
        if not statuses:
            return SendResult(outcome="retry", error="腾讯云未返回发送状态")
        status = statuses[0]
        code = str(status.Code)
        if code == "Ok":
            return SendResult(outcome="accepted", provider_id=str(status.SerialNo or "") or None)
        return SendResult(outcome=_tencent_outcome(code), error=f"{code}: {status.Message}"[:300])


def _local(endpoint: str) -> bool:
    host = endpoint.rsplit(":", 1)[0] if endpoint.count(":") == 1 else endpoint
    return host in ("127.0.0.1", "localhost", "[::1]")


def backend_for(settings: Settings) -> SmsBackend:
    """The backend SMS_BACKEND names (config.settings has checked that its settings are all there)."""
    if settings.sms_backend == "aliyun":
        return AliyunBackend(settings)
    if settings.sms_backend == "tencent":
        return TencentBackend(settings)
    return LogBackend()
