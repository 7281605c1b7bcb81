"""Settings read once from the environment into one msgspec Struct.

A bad value stops start-up with one line naming the variable (SettingsError), never a traceback.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

# The browser vendors' push services; tests add 127.0.0.1.
DEFAULT_PUSH_HOSTS = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "web.push.apple.com",
    "*.notify.windows.com",
)
# How text messages leave (sms/backends.py): `log` writes each one as a line of the server log; `aliyun`
# (阿里云短信服务) and `tencent` (腾讯云短信) send through the carriers' gateways with their SDKs.
SMS_BACKENDS = ("log", "aliyun", "tencent")
# What a gateway backend needs: each message kind is a template approved at the provider (sms/texts.py).
SMS_TEMPLATE_SETTINGS = ("SMS_TEMPLATE_VERIFICATION_CODE", "SMS_TEMPLATE_ACCOUNT_EXISTS", "SMS_TEMPLATE_CASE_STEP")
# How log lines are written: `text` for a person at a terminal, `json` (one object per line) for a log collector.
LOG_FORMATS = ("text", "json")
# Who may read /metrics when METRICS_ALLOWED is not set: this machine only.
DEFAULT_METRICS_ALLOWED = "127.0.0.0/8,::1"


class SettingsError(ValueError):
    """A setting with a bad value; the message names the variable."""


# How DATABASE_URL hands out server connections: `session` (PostgreSQL itself, or PgBouncer in session
# mode) or `transaction` (PgBouncer in transaction mode: a server connection for one transaction only).
DATABASE_POOLING_MODES = ("session", "transaction")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None
    # Straight to PostgreSQL, for what needs a session of its own: the migration lock, the push worker's
    # LISTEN, pg_dump. None: DATABASE_URL is direct already.
    database_direct_url: str | None
    database_pooling: str
    host: str
    port: int
    public_url: str
    data_dir: Path
    secret_key: str
    push_allowed_hosts: tuple[str, ...]
    vapid_subject: str
    resident_idle_minutes: int
    staff_idle_minutes: int
    helper_idle_minutes: int
    session_max_hours: int
    web_workers: int
    track_scans_per_minute: int
    # The reverse proxies (TLS terminators, load balancers) whose X-Forwarded-For is believed.
    # (CIDRs as text: the settings travel through msgspec, which does not take ipaddress types.)
    trusted_proxies: tuple[str, ...] = ()

    sms_backend: str = "log"
    # Texts one number may be handed in a day (Beijing time), sign-up codes and case steps together.
    sms_daily_cap_per_number: int = 20
    # The gateway backends' account (aliyun: an AccessKey pair; tencent: a SecretId/SecretKey pair and the SDK app id),
    # the approved sign, the template id of each message kind, and the gateway's host (empty: the provider's own).
    sms_access_key_id: str = ""
    sms_access_key_secret: str = ""
    sms_sdk_app_id: str = ""
    sms_region: str = "ap-guangzhou"
    sms_sign_name: str = "常州一网通办"
    sms_templates: dict[str, str] = msgspec.field(default_factory=dict[str, str])
    sms_endpoint: str = ""
    # Sign-up codes one address may ask for in an hour (many phones can share a carrier's address).
    signup_starts_per_address: int = 20

    # Operations (docs/operations.md). Addresses (CIDRs as text) that may read /metrics; anyone else gets a 404.
    metrics_allowed: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    log_format: str = "text"
    # OTLP/HTTP collector for traces; None: tracing off.
    otel_endpoint: str | None = None
    # The push worker's own /metrics port (0: not served).
    push_metrics_port: int = 0

    # The data-exchange API (docs/exchange.md): calls one API client may make per minute, counted across every host.
    exchange_requests_per_minute: int = 600
    # Where webhooks may be sent: host names (*.suffix allowed) and addresses or CIDRs. A host resolving to a private,
    # loopback or link-local address is refused unless that address is listed too. Empty: no webhook is accepted.
    webhook_allowed_hosts: tuple[str, ...] = ()

    @property
    def transaction_pooling(self) -> bool:
        return self.database_pooling == "transaction"

    @property
    def rp_id(self) -> str:
        """The WebAuthn relying-party id: the host of PUBLIC_URL."""
        return urlsplit(self.public_url).hostname or "localhost"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _public_url(env: Mapping[str, str], port: int) -> str:
    raw = env.get("PUBLIC_URL", "").strip() or f"http://localhost:{port}"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"PUBLIC_URL: expected an origin like https://ywtb.example.cn, got {raw!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SettingsError(f"PUBLIC_URL: must be an origin without a path, got {raw!r}")
    # WebAuthn allows plain http only on localhost, so anything else must be https.
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1"):
        raise SettingsError(f"PUBLIC_URL: passkeys need https except on localhost, got {raw!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _database_url(env: Mapping[str, str], name: str = "DATABASE_URL") -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if urlsplit(raw).scheme not in ("postgres", "postgresql"):
        raise SettingsError(f"{name}: expected postgresql://user:password@host:port/db, got scheme of {raw[:20]!r}")
    return raw


def _database_pooling(env: Mapping[str, str], database_url: str | None, direct_url: str | None) -> str:
    pooling = env.get("DATABASE_POOLING", "").strip().lower() or "session"
    if pooling not in DATABASE_POOLING_MODES:
        raise SettingsError(
            f"DATABASE_POOLING: expected session or transaction (PgBouncer's pool_mode), got {pooling!r}"
        )
    if direct_url and not database_url:
        raise SettingsError("DATABASE_DIRECT_URL: set only beside DATABASE_URL (the embedded server is always direct)")
    if pooling == "transaction" and not direct_url:
        raise SettingsError(
            "DATABASE_DIRECT_URL: needed with DATABASE_POOLING=transaction (migrations and the push worker "
            "need a session of their own, straight to PostgreSQL)"
        )
    return pooling


def _push_hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("PUSH_ALLOWED_HOSTS")
    if raw is None or not raw.strip():
        return DEFAULT_PUSH_HOSTS
    hosts = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    for host in hosts:
        bare = host.removeprefix("*.")
        if not bare or "/" in bare or ":" in bare or "*" in bare:
            raise SettingsError(f"PUSH_ALLOWED_HOSTS: {host!r} is not a host name (comma-separated, *.suffix allowed)")
    return hosts


def _webhook_hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    """Host names (*.suffix allowed) and addresses or CIDRs (as CIDR text)."""
    entries: list[str] = []
    for part in (p.strip().lower() for p in env.get("WEBHOOK_ALLOWED_HOSTS", "").split(",")):
        if not part:
            continue
        try:
            entries.append(str(ipaddress.ip_network(part, strict=False)))
            continue
        except ValueError:
            pass
        bare = part.removeprefix("*.")
        if not bare or "/" in bare or ":" in bare or "*" in bare or "." not in bare:
            raise SettingsError(
                f"WEBHOOK_ALLOWED_HOSTS: {part!r} is neither a host name (*.suffix allowed) nor an address or CIDR"
            )
        entries.append(part)
    return tuple(entries)


def _networks(env: Mapping[str, str], name: str, default: str = "") -> tuple[str, ...]:
    """A comma-separated list of addresses and CIDRs, as CIDR text."""
    raw = env.get(name, "").strip() or default
    networks: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise SettingsError(
                f"{name}: {part!r} is not an address or CIDR (comma-separated, e.g. 10.0.0.0/8,::1)"
            ) from None
    return tuple(networks)


def _trusted_proxies(env: Mapping[str, str]) -> tuple[str, ...]:
    return _networks(env, "TRUSTED_PROXIES")


def _log_format(env: Mapping[str, str]) -> str:
    raw = env.get("LOG_FORMAT", "").strip().lower() or "text"
    if raw not in LOG_FORMATS:
        raise SettingsError(f"LOG_FORMAT: expected text or json, got {raw!r}")
    return raw


def _otel_endpoint(env: Mapping[str, str]) -> str | None:
    """Tracing is on only when an OTLP endpoint is given; the exporter reads the variable itself."""
    raw = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not raw:
        return None
    if urlsplit(raw).scheme not in ("http", "https") or not urlsplit(raw).hostname:
        raise SettingsError(f"OTEL_EXPORTER_OTLP_ENDPOINT: expected http(s)://collector:4318, got {raw!r}")
    if importlib.util.find_spec("opentelemetry.sdk") is None:
        raise SettingsError(
            "OTEL_EXPORTER_OTLP_ENDPOINT: tracing needs the packages of the otel extra in pyproject.toml "
            "(opentelemetry-sdk and the exporter and instrumentations named there), which are not installed"
        )
    return raw


def _sms_backend(env: Mapping[str, str]) -> str:
    raw = env.get("SMS_BACKEND", "").strip().lower() or "log"
    if raw not in SMS_BACKENDS:
        raise SettingsError(f"SMS_BACKEND: expected one of {', '.join(SMS_BACKENDS)}, got {raw!r}")
    if raw == "log":
        return raw
    needed = ["SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", *SMS_TEMPLATE_SETTINGS]
    if raw == "tencent":
        needed.append("SMS_SDK_APP_ID")
    if missing := [name for name in needed if not env.get(name, "").strip()]:
        raise SettingsError(f"SMS_BACKEND: {raw} needs {', '.join(missing)} set too")
    sdk = {"aliyun": "alibabacloud_dysmsapi20170525", "tencent": "tencentcloud.sms"}[raw]
    if importlib.util.find_spec(sdk.split(".")[0]) is None:
        raise SettingsError(f"SMS_BACKEND: {raw} needs the packages of the sms extra in pyproject.toml (not installed)")
    return raw


def _sms_templates(env: Mapping[str, str]) -> dict[str, str]:
    """Template ids by message kind (verification_code, account_exists, case_step, and case_step_en if set)."""
    prefix = "SMS_TEMPLATE_"
    found = {name.removeprefix(prefix).lower(): env.get(name, "").strip() for name in SMS_TEMPLATE_SETTINGS}
    # Optional: the English case step (sms/texts.py); without it, residents who read English are texted in Chinese.
    if english := env.get("SMS_TEMPLATE_CASE_STEP_EN", "").strip():
        found["case_step_en"] = english
    return found


def _sms_endpoint(env: Mapping[str, str]) -> str:
    """A gateway's host[:port], for a private gateway or a test double; empty: the provider's own."""
    raw = env.get("SMS_ENDPOINT", "").strip()
    if raw and ("/" in raw or " " in raw):
        raise SettingsError(f"SMS_ENDPOINT: expected host or host:port, without a scheme or path, got {raw!r}")
    return raw


def _secret_key(env: Mapping[str, str], data_dir: Path) -> str:
    raw = env.get("SECRET_KEY", "").strip()
    if raw:
        if len(raw) < 32:
            raise SettingsError("SECRET_KEY: must be at least 32 characters")
        return raw
    # Generated once and kept beside the data, so encrypted ID numbers stay readable across restarts.
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    except OSError as exc:
        raise SettingsError(f"DATA_DIR: cannot write {key_file}: {exc.strerror}") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    port = _int(env, "PORT", 8000, 1, 65535)
    data_dir = Path(env.get("DATA_DIR", "").strip() or "var").resolve()
    if data_dir.exists() and not data_dir.is_dir():
        raise SettingsError(f"DATA_DIR: {data_dir} exists and is not a folder")
    subject = env.get("VAPID_SUBJECT", "").strip() or "mailto:ywtb@changzhou.gov.cn.example"
    if not subject.startswith(("mailto:", "https://")):
        raise SettingsError(f"VAPID_SUBJECT: must start with mailto: or https://, got {subject!r}")
    host = env.get("HOST", "").strip() or "127.0.0.1"
    database_url = _database_url(env)
    direct_url = _database_url(env, "DATABASE_DIRECT_URL")
    return Settings(
        database_url=database_url,
        database_direct_url=direct_url,
        database_pooling=_database_pooling(env, database_url, direct_url),
        host=host,
        port=port,
        public_url=_public_url(env, port),
        data_dir=data_dir,
        secret_key=_secret_key(env, data_dir),
        push_allowed_hosts=_push_hosts(env),
        vapid_subject=subject,
        resident_idle_minutes=_int(env, "RESIDENT_IDLE_MINUTES", 30, 1, 24 * 60),
        staff_idle_minutes=_int(env, "STAFF_IDLE_MINUTES", 15, 1, 24 * 60),
        helper_idle_minutes=_int(env, "HELPER_IDLE_MINUTES", 10, 1, 24 * 60),
        session_max_hours=_int(env, "SESSION_MAX_HOURS", 12, 1, 24 * 30),
        web_workers=_int(env, "WEB_WORKERS", os.cpu_count() or 1, 1, 64),
        track_scans_per_minute=_int(env, "TRACK_SCANS_PER_MINUTE", 120, 0, 1_000_000),
        trusted_proxies=_trusted_proxies(env),
        sms_backend=_sms_backend(env),
        sms_daily_cap_per_number=_int(env, "SMS_DAILY_CAP_PER_NUMBER", 20, 1, 1000),
        sms_access_key_id=env.get("SMS_ACCESS_KEY_ID", "").strip(),
        sms_access_key_secret=env.get("SMS_ACCESS_KEY_SECRET", "").strip(),
        sms_sdk_app_id=env.get("SMS_SDK_APP_ID", "").strip(),
        sms_region=env.get("SMS_REGION", "").strip() or "ap-guangzhou",
        sms_sign_name=env.get("SMS_SIGN_NAME", "").strip() or "常州一网通办",
        sms_templates=_sms_templates(env),
        sms_endpoint=_sms_endpoint(env),
        signup_starts_per_address=_int(env, "SIGNUP_STARTS_PER_ADDRESS", 20, 1, 1_000_000),
        metrics_allowed=_networks(env, "METRICS_ALLOWED", DEFAULT_METRICS_ALLOWED),
        log_format=_log_format(env),
        otel_endpoint=_otel_endpoint(env),
        push_metrics_port=_int(env, "PUSH_METRICS_PORT", 0, 0, 65535),
        exchange_requests_per_minute=_int(env, "EXCHANGE_REQUESTS_PER_MINUTE", 600, 1, 1_000_000),
        webhook_allowed_hosts=_webhook_hosts(env),
    )
