"""``consona serve``: an OpenAI-compatible persona server and a web chat page.

>>> from consona.testing import FakeBackend
>>> app = create_app(ServerConfig(backend=FakeBackend(["Hello from the lighthouse."])))
>>> from fastapi.testclient import TestClient
>>> r = TestClient(app).post("/v1/chat/completions", json={
...     "model": "consona/mira", "messages": [{"role": "user", "content": "hi"}]})
>>> r.json()["choices"][0]["message"]["content"]
'Hello from the lighthouse.'

Characters are models (``consona/<id>``), the plain backend model is one more; the
``consona`` field of a reply says why it was chosen (see ``consona.server.app``).
"""

from consona.server.app import ServerConfig, create_app
from consona.server.characters import Character, CharacterRegistry
from consona.server.engine import ChatEngine
from consona.server.store import SessionStore

__all__ = [
    "Character",
    "CharacterRegistry",
    "ChatEngine",
    "ServerConfig",
    "SessionStore",
    "create_app",
]
