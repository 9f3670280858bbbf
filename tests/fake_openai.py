"""A tiny OpenAI-compatible chat server for tests: fixed replies, JSON or SSE, optional delay or error.

    with serve_fake_openai(["答复"]) as base_url:
        OpenAIGenerator(base_url, "fake", None).generate([...])

It listens on a free 127.0.0.1 port in a background thread (uvicorn) and stops on exit. Each request's
JSON body and Authorization header are appended to `received` when a list is given.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (right now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _app(replies: Sequence[str], delay_s: float, status: int, received: list[dict] | None) -> FastAPI:
    app = FastAPI()
    turn = iter(range(10**9))

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "tests"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        if received is not None:
            received.append({"body": body, "authorization": request.headers.get("authorization", "")})
        # Sleep in steps and stop once the client gives up, so shutdown never waits on a dead request.
        deadline = time.monotonic() + delay_s
        while time.monotonic() < deadline:
            if await request.is_disconnected():
                return JSONResponse({"error": {"message": "client went away"}}, 499)
            await asyncio.sleep(0.05)
        if status != 200:
            return JSONResponse({"error": {"message": f"fake failure {status}", "type": "server_error"}}, status)
        reply = replies[next(turn) % len(replies)]
        model, created, cid = body.get("model", "fake"), int(time.time()), "chatcmpl-fake"
        if not body.get("stream"):
            return {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": len(reply), "total_tokens": 1 + len(reply)},
            }

        def event(delta: dict, finish: str | None = None) -> str:
            chunk = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

        async def events():
            yield event({"role": "assistant", "content": ""})
            for i in range(0, len(reply), 2):
                yield event({"content": reply[i : i + 2]})
            yield event({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@contextmanager
def serve_fake_openai(
    replies: Sequence[str] | str,
    *,
    delay_s: float = 0.0,
    status: int = 200,
    received: list[dict] | None = None,
) -> Iterator[str]:
    """Serve `replies` (in turn, cycling) on a free local port; yield the base URL ending in `/v1`."""
    replies = [replies] if isinstance(replies, str) else list(replies)
    if not replies:
        raise ValueError("serve_fake_openai: give at least one reply")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        _app(replies, delay_s, status, received), log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"fake OpenAI server on 127.0.0.1:{port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
