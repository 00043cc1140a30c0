"""The session store: group commit from many threads, order within a session, files."""

from __future__ import annotations

import threading

import pytest

from consona.server.store import Exchange, GroupCommitter, SessionStore


def test_group_commit_from_many_threads_keeps_every_turn_in_order(tmp_path):
    store = SessionStore(tmp_path / "s.db")
    committer = GroupCommitter(store)
    futures = []
    lock = threading.Lock()

    def client(k: int) -> None:
        for j in range(5):
            f = committer.submit(Exchange("shared", "mira", "bo", f"q{k}.{j}", f"a{k}.{j}", {}))
            with lock:
                futures.append(f)
            f.result(timeout=30)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    turns = store.turns("shared")
    assert [t["index"] for t in turns] == list(range(200))
    assert all(
        a["role"] == "user" and b["role"] == "assistant" and a["content"][1:] == b["content"][1:]
        for a, b in zip(turns[::2], turns[1::2], strict=True)
    )
    committer.close()
    store.close()
    # a new store on the same file sees everything (WAL checkpointed or not)
    again = SessionStore(f"sqlite:///{tmp_path / 's.db'}")
    assert len(again.turns("shared")) == 200
    assert again.list()[0]["turn_count"] == 200


def test_one_bad_exchange_does_not_fail_the_batch(tmp_path):
    store = SessionStore(tmp_path / "s.db")
    committer = GroupCommitter(store)
    bad = Exchange("x" * 200, "mira", "bo", "q", "a", {"not json": object()})
    good = committer.submit(Exchange("ok", "mira", "bo", "q", "a", {}))
    failed = committer.submit(bad)
    assert good.result(timeout=10) == 2
    assert failed.exception(timeout=10) is not None
    committer.close()


try:  # the PostgreSQL fixture of the memory tests (initdb + pg_ctl on a free port)
    from tests.memory.conftest import postgres_url
except ImportError:  # pragma: no cover - memory tests absent
    postgres_url = None


@pytest.mark.slow  # starts its own PostgreSQL server (~8 s); fast once the fixture is shared
def test_the_same_store_on_postgresql(request):
    if postgres_url is None:
        pytest.skip("no PostgreSQL fixture (tests/memory/conftest.py)")
    url = request.getfixturevalue("postgres_url")
    store = SessionStore(url)
    committer = GroupCommitter(store)
    sid = f"pg-{threading.get_ident()}"
    futures = [committer.submit(Exchange(sid, "mira", "bo", f"q{i}", f"a{i}", {"i": i}))
               for i in range(20)]  # fmt: skip
    assert sorted(f.result(timeout=30) for f in futures) == list(range(2, 42, 2))
    turns = store.turns(sid)
    assert [t["index"] for t in turns] == list(range(40)) and turns[1]["meta"] == {"i": 0}
    assert store.delete(sid) and store.get(sid) is None
    committer.close()
    store.close()
