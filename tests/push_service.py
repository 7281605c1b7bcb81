"""A local Web Push service, for the tests and bench/push.py: an HTTP server on 127.0.0.1 that treats
each push as a browser vendor's service would, and fake devices that read it as a browser would.

Every request is checked: the VAPID token (RFC 8292) must be signed by the app's public key — the one
`GET /api/v1/push/key` gives browsers — for this service's origin (`aud`) and not be expired or too
long-lived (`exp`); the body must be aes128gcm (RFC 8188), and it is decrypted with http_ece using the
device's own P-256 key and auth secret. A push that fails a check is refused (400/401/403) and listed
in `rejected`, so a test can assert there were none.

A device answers 201 unless told otherwise: `service.answer(device, 503, 201)` scripts the next
answers; a tuple `(429, {"Retry-After": "1"})` adds headers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

MAX_TOKEN_LIFETIME = 24 * 3600  # RFC 8292 §2: exp no more than 24 hours ahead
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class FakeDevice:
    """A browser's side of a subscription: its key pair and auth secret, and its endpoint here."""

    name: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    hold: asyncio.Event | None = None  # while set up and not yet released, requests wait (a slow service)
    held: asyncio.Event = field(default_factory=asyncio.Event)  # set once a request is waiting on `hold`

    def subscription(self) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives the page."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth_secret)},
        }

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm")


@dataclass(frozen=True)
class Push:
    """One push the service accepted and the device decrypted."""

    device: str
    payload: dict[str, Any]
    urgency: str | None
    topic: str | None
    ttl: int
    claims: dict[str, Any]
    at: float  # time.time() on arrival


@dataclass(frozen=True)
class Attempt:
    device: str
    status: int
    at: float


class LocalPushService:
    def __init__(self, vapid_public_key: str) -> None:
        self.vapid_public_key = vapid_public_key
        self._verifier = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(vapid_public_key))
        self.devices: dict[str, FakeDevice] = {}
        self.received: list[Push] = []
        self.attempts: list[Attempt] = []
        self.rejected: list[str] = []
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.origin = ""

    async def __aenter__(self) -> LocalPushService:
        app = web.Application(client_max_size=8 * 1024)
        app.router.add_post("/push/{device}", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.origin = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        for device in self.devices.values():
            if device.hold is not None:
                device.hold.set()
        assert self._runner is not None
        await self._runner.cleanup()

    def device(self, name: str | None = None) -> FakeDevice:
        name = name or f"d{len(self.devices) + 1}"
        device = FakeDevice(name=name, endpoint=f"{self.origin}/push/{name}")
        self.devices[name] = device
        return device

    def answer(self, device: FakeDevice, *answers: int | tuple[int, dict[str, str]]) -> None:
        for answer in answers:
            device.answers.append(answer if isinstance(answer, tuple) else (answer, {}))

    def pushes_to(self, device: FakeDevice) -> list[Push]:
        return [p for p in self.received if p.device == device.name]

    async def wait_for(self, count: int, within: float = 30) -> list[Push]:
        """Wait until `count` pushes have been accepted in all."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.received) >= count), within)
        return self.received

    # --- the checks a push service makes ------------------------------------------------------------

    def _vapid_problem(self, authorization: str) -> tuple[str | None, dict[str, Any]]:
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            return "Authorization is not `vapid t=…, k=…`", {}
        fields = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        if fields.get("k") != self.vapid_public_key:
            return "k is not the application server key the browser subscribed with", {}
        try:
            header_b64, claims_b64, signature_b64 = fields["t"].split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(signature_b64)
        except (KeyError, ValueError):
            return "malformed JWT", {}
        if header.get("alg") != "ES256" or len(signature) != 64:
            return "JWT is not ES256", claims
        der = utils.encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            self._verifier.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return "JWT signature does not verify with the VAPID public key", claims
        now = time.time()
        if claims.get("aud") != self.origin:
            return f"aud {claims.get('aud')!r} is not {self.origin!r}", claims
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= now:
            return "JWT expired", claims
        if exp > now + MAX_TOKEN_LIFETIME:
            return "JWT exp more than 24 hours ahead", claims
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            return "sub is not a mailto: or https: contact", claims
        return None, claims

    async def _push(self, request: web.Request) -> web.Response:
        device = self.devices.get(request.match_info["device"])
        if device is None:
            return web.Response(status=404)
        problem, claims = self._vapid_problem(request.headers.get("Authorization", ""))
        if problem:
            self.rejected.append(problem)
            return web.Response(status=403 if "signature" in problem or "k is" in problem else 401, text=problem)
        headers = request.headers
        ttl = headers.get("TTL", "")
        urgency, topic = headers.get("Urgency"), headers.get("Topic")
        if headers.get("Content-Encoding") != "aes128gcm":
            problem = f"Content-Encoding {headers.get('Content-Encoding')!r} is not aes128gcm"
        elif not ttl.isdigit():
            problem = "TTL header missing"
        elif urgency not in (None, "very-low", "low", "normal", "high"):
            problem = f"bad Urgency {urgency!r}"
        elif topic is not None and not TOPIC.match(topic):
            problem = f"bad Topic {topic!r}"
        body = await request.read()
        try:
            payload = json.loads(device.decrypt(body)) if not problem else None
        except Exception as exc:  # anything that does not decrypt is a bad request
            problem = f"body does not decrypt: {type(exc).__name__}"
        if problem:
            self.rejected.append(problem)
            return web.Response(status=400, text=problem)
        if device.hold is not None:
            device.held.set()
            await device.hold.wait()
        status, extra = device.answers.popleft() if device.answers else (201, {})
        self.attempts.append(Attempt(device=device.name, status=status, at=time.time()))
        if 200 <= status < 300:
            async with self._arrived:
                self.received.append(
                    Push(
                        device=device.name,
                        payload=payload,
                        urgency=urgency,
                        topic=topic,
                        ttl=int(ttl),
                        claims=claims,
                        at=time.time(),
                    )
                )
                self._arrived.notify_all()
        return web.Response(status=status, headers=extra)
