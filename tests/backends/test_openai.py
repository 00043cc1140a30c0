"""The openai backend against a real (tiny, stdlib) OpenAI-compatible HTTP server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from consona.backends import load_backend
from consona.backends.openai import OpenAIBackend
from consona.errors import BackendError, ConfigError

MSGS = [{"role": "user", "content": "hi"}]


class Server:
    """A minimal /v1 server: replies "reply-<seed>" per choice; honours ``n`` unless
    ``ignore_n``; ``fail`` is a list of status codes to answer first; ``delay`` sleeps."""

    def __init__(self, *, ignore_n=False, fail=(), delay=0.0, only_json_object=False):
        self.ignore_n, self.fail, self.delay = ignore_n, list(fail), delay
        self.only_json_object = only_json_object
        self.bodies: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code, obj, headers=()):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "tiny-model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.bodies.append(body)
                if owner.delay:
                    time.sleep(owner.delay)
                if owner.fail:
                    code = owner.fail.pop(0)
                    self._send(
                        code, {"error": {"message": f"boom {code}"}}, headers=[("Retry-After", "0")]
                    )
                    return
                fmt = (body.get("response_format") or {}).get("type")
                if owner.only_json_object and fmt == "json_schema":
                    self._send(
                        400,
                        {
                            "error": {
                                "message": "response_format.type must be 'text' or 'json_object'"
                            }
                        },
                    )
                    return
                n = 1 if owner.ignore_n else body.get("n", 1)
                seed = body.get("seed", 0)
                if body.get("response_format"):
                    texts = ['{"name": "Ada"}'] * n
                else:
                    texts = [f"reply-{seed + i}" for i in range(n)]
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for piece in ["re", "ply", "!"]:
                        chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                self._send(
                    200,
                    {
                        "model": body["model"],
                        "choices": [
                            {
                                "index": i,
                                "message": {"role": "assistant", "content": t},
                                "finish_reason": "stop",
                            }
                            for i, t in enumerate(texts)
                        ],
                        "usage": {"prompt_tokens": 5, "completion_tokens": 2 * n},
                    },
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(request):
    s = Server(**getattr(request, "param", {}))
    yield s
    s.close()


def test_native_n_and_model_discovery(server):
    b = OpenAIBackend(base_url=server.url)
    g = b.generate(MSGS, n=3, seed=10)
    assert g.texts == ["reply-10", "reply-11", "reply-12"]
    assert g.model == "tiny-model" and g.usage == {"prompt_tokens": 5, "completion_tokens": 6}
    assert len(server.bodies) == 1 and server.bodies[0]["n"] == 3
    assert b.native_n is True


@pytest.mark.parametrize("server", [{"ignore_n": True}], indirect=True)
def test_loops_when_server_ignores_n(server):
    b = OpenAIBackend(base_url=server.url, model="m")
    assert b.generate(MSGS, n=3, seed=5).texts == ["reply-5", "reply-6", "reply-7"]
    assert len(server.bodies) == 3 and b.native_n is False
    server.bodies.clear()
    assert b.generate(MSGS, n=2, seed=1).texts == ["reply-1", "reply-2"]
    assert all("n" not in body for body in server.bodies)  # no more wasted n requests


@pytest.mark.parametrize("server", [{"fail": [429, 503]}], indirect=True)
def test_retries_on_429_and_5xx(server):
    b = OpenAIBackend(base_url=server.url, model="m", backoff_s=0.01)
    assert b.generate(MSGS, seed=0).text == "reply-0"
    assert len(server.bodies) == 3


@pytest.mark.parametrize("server", [{"fail": [503, 503, 503]}], indirect=True)
def test_gives_up_after_max_retries(server):
    b = OpenAIBackend(base_url=server.url, model="m", backoff_s=0.01, max_retries=2)
    with pytest.raises(BackendError, match=r"failed after 3 tries.*503"):
        b.generate(MSGS)


@pytest.mark.parametrize("server", [{"fail": [401]}], indirect=True)
def test_client_error_not_retried_and_hinted(server):
    b = OpenAIBackend(base_url=server.url, model="m", backoff_s=0.01)
    with pytest.raises(BackendError, match=r"401.*boom.*API key"):
        b.generate(MSGS)
    assert len(server.bodies) == 1


@pytest.mark.parametrize("server", [{"delay": 1.0}], indirect=True)
def test_timeout(server):
    b = OpenAIBackend(base_url=server.url, model="m", timeout=0.2, max_retries=0)
    with pytest.raises(BackendError, match="timed out"):
        b.generate(MSGS)


def test_refused_connection():
    b = OpenAIBackend(base_url="http://127.0.0.1:9/v1", model="m", max_retries=1, backoff_s=0.01)
    with pytest.raises(BackendError, match="cannot connect"):
        b.generate(MSGS)


def test_stream_and_json_schema(server):
    b = load_backend("openai", model="m", base_url=server.url)
    assert "".join(b.stream(MSGS)) == "reply!"
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    assert b.generate(MSGS, json_schema=schema).text == '{"name": "Ada"}'
    assert server.bodies[-1]["response_format"]["json_schema"]["schema"] == schema
    with pytest.raises(BackendError, match="JSON schema"):
        b.generate(MSGS, json_schema={"type": "object", "required": ["age"]})


def test_bad_options():
    with pytest.raises(ConfigError, match="http"):
        OpenAIBackend(base_url="localhost:8000")
    with pytest.raises(ConfigError, match="json_mode"):
        OpenAIBackend(json_mode="xml")


@pytest.mark.parametrize("server", [{"only_json_object": True}], indirect=True)
def test_json_mode_auto_falls_back_to_json_object(server):
    b = OpenAIBackend(base_url=server.url, model="m")
    schema = {"type": "object", "required": ["name"]}
    assert b.generate(MSGS, json_schema=schema).text == '{"name": "Ada"}'
    assert [x["response_format"]["type"] for x in server.bodies] == ["json_schema", "json_object"]
    assert server.bodies[-1]["response_format"]["schema"] == schema
    assert b.json_mode == "json_object"


def test_sampling_options_are_sent_only_when_set(server):
    b = OpenAIBackend(base_url=server.url, model="m")
    b.generate(MSGS, top_p=0.7, presence_penalty=0.5, frequency_penalty=-0.25)
    sent = server.bodies[-1]
    assert (sent["top_p"], sent["presence_penalty"], sent["frequency_penalty"]) == (0.7, 0.5, -0.25)
    "".join(b.stream(MSGS, top_p=0.3))
    assert server.bodies[-1]["top_p"] == 0.3 and "presence_penalty" not in server.bodies[-1]
    b.generate(MSGS)
    assert not {"top_p", "presence_penalty", "frequency_penalty"} & set(server.bodies[-1])
