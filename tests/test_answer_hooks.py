"""What every answer carries (the security headers, the data-exchange API's audit) is added once as it starts, by the
request's own wrapper around the whole app (app/ops/requests.py): not by Litestar's before_send, which called each
hook on every message of every answer."""

from __future__ import annotations

from pathlib import Path

from litestar.types import HTTPRequestEvent, HTTPResponseStartEvent, HTTPScope, Message, Receive, Scope, Send

from app.main import create_app
from app.ops.requests import HEADER, request_context
from config.settings import load_settings


def test_the_app_leaves_litestars_before_send_empty(tmp_path: Path) -> None:
    app = create_app(load_settings({"DATA_DIR": str(tmp_path)}))
    assert app.before_send == []


async def test_each_hook_runs_once_per_answer_with_its_request_id() -> None:
    seen: list[tuple[int, bool]] = []

    async def hook(start: HTTPResponseStartEvent, scope: HTTPScope) -> None:
        seen.append((start["status"], any(name == HEADER for name, _ in start["headers"])))
        start["headers"].append((b"x-added", b"1"))  # type: ignore[union-attr]

    async def streamed(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"a", b"b", b"c"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> HTTPRequestEvent:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    await request_context(streamed, on_answer=[hook, hook])(scope, receive, send)  # type: ignore[arg-type]
    assert seen == [(200, True), (200, True)]
    assert len(sent) == 5
    assert sent[0]["headers"][-2:] == [(b"x-added", b"1"), (b"x-added", b"1")]  # type: ignore[typeddict-item]
