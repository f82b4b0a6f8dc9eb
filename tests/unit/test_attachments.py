"""Attachments: the value, and the filesystem store's atomic, bounded, per-upload files."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketflow import TicketflowError
from ticketflow.attachments import (
    Attachment,
    AttachmentNotFound,
    AttachmentStore,
    FileSystemAttachmentStore,
)
from ticketflow.exceptions import InvalidInputError


@pytest.fixture
def blobs(tmp_path: Path) -> FileSystemAttachmentStore:
    return FileSystemAttachmentStore(tmp_path / "blobs", max_bytes=1000)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_put_records_size_hash_and_type_and_read_returns_the_bytes(
    blobs: FileSystemAttachmentStore,
) -> None:
    data = b"hello, world\n"
    att = blobs.put(data, filename="notes.txt", content_type="Text/Plain")
    assert att.size == len(data)
    assert att.sha256 == hashlib.sha256(data).hexdigest()
    assert att.content_type == "text/plain"
    assert att.filename == "notes.txt"
    assert blobs.read(att.ref) == data
    assert isinstance(blobs, AttachmentStore)


def test_streams_are_read_in_chunks_and_hashed_whole(tmp_path: Path) -> None:
    store = FileSystemAttachmentStore(tmp_path, max_bytes=1 << 20)
    data = bytes(range(256)) * 1024  # 256 KiB: several 64 KiB chunks
    att = store.put(io.BytesIO(data), filename="blob.bin")
    assert att.size == len(data)
    assert att.sha256 == hashlib.sha256(data).hexdigest()
    assert store.read(att.ref) == data


def test_every_upload_gets_its_own_file_so_delete_never_removes_another(
    blobs: FileSystemAttachmentStore,
) -> None:
    first = blobs.put(b"same bytes", filename="a.txt")
    second = blobs.put(b"same bytes", filename="b.txt")
    assert first.ref != second.ref
    assert first.sha256 == second.sha256
    assert blobs.delete(first.ref) is True
    assert blobs.read(second.ref) == b"same bytes"
    with pytest.raises(AttachmentNotFound) as caught:
        blobs.read(first.ref)
    assert first.ref in str(caught.value)
    assert isinstance(caught.value, TicketflowError)
    assert blobs.delete(first.ref) is False


def test_too_large_upload_is_refused_and_leaves_nothing(blobs: FileSystemAttachmentStore) -> None:
    kept = blobs.put(b"x" * 1000, filename="max.bin")  # exactly the limit is accepted
    before = _files(blobs.root)
    with pytest.raises(InvalidInputError) as caught:
        blobs.put(io.BytesIO(b"y" * 1001), filename="big.bin")
    assert caught.value.field == "data"
    assert _files(blobs.root) == before
    assert blobs.read(kept.ref) == b"x" * 1000


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"filename": "../etc/passwd"}, "filename"),
        ({"filename": "a\\b"}, "filename"),
        ({"filename": "line\r\nBcc: x@example.org"}, "filename"),
        ({"filename": ""}, "filename"),
        ({"filename": ".."}, "filename"),
        ({"filename": "x" * 256}, "filename"),
        ({"filename": "nul\x00.txt"}, "filename"),
        ({"filename": "ok.txt", "content_type": "text"}, "content_type"),
        ({"filename": "ok.txt", "content_type": "text/plain\r\nX: y"}, "content_type"),
    ],
)
def test_bad_names_are_refused_by_field_and_nothing_is_written(
    blobs: FileSystemAttachmentStore, kwargs: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        blobs.put(b"data", **kwargs)
    assert caught.value.field == field
    assert _files(blobs.root) == []


@pytest.mark.parametrize("ref", ["../../etc/passwd", "ABC", "0" * 31, "g" * 32, 42])
def test_refs_that_store_never_made_are_refused(
    blobs: FileSystemAttachmentStore, ref: object
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        blobs.read(ref)  # type: ignore[arg-type]
    assert caught.value.field == "ref"
    with pytest.raises(InvalidInputError):
        blobs.delete(ref)  # type: ignore[arg-type]


def test_text_mode_files_and_non_bytes_are_refused(
    blobs: FileSystemAttachmentStore,
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        blobs.put(io.StringIO("text"), filename="a.txt")  # type: ignore[arg-type]
    assert caught.value.field == "data"
    with pytest.raises(InvalidInputError):
        blobs.put("text", filename="a.txt")  # type: ignore[arg-type]
    assert _files(blobs.root) == []


@pytest.mark.parametrize("max_bytes", [0, -1, 1.5, True, 2**63])
def test_bad_limits_are_refused(tmp_path: Path, max_bytes: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        FileSystemAttachmentStore(tmp_path, max_bytes=max_bytes)  # type: ignore[arg-type]
    assert caught.value.field == "max_bytes"


@given(
    filename=st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
        min_size=1,
        max_size=40,
    ).filter(lambda s: s not in {".", ".."}),
    size=st.integers(0, 2**40),
)
def test_attachment_round_trips_through_its_dict(filename: str, size: int) -> None:
    att = Attachment(
        filename=filename, content_type="image/png", size=size, sha256="a" * 64, ref="r1"
    )
    assert Attachment.from_dict(att.to_dict()) == att


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"filename": "a", "content_type": "a/b", "size": 1, "sha256": "a" * 64}, "ref"),
        (
            {"filename": "a", "content_type": "a/b", "size": -1, "sha256": "a" * 64, "ref": "r"},
            "size",
        ),
        (
            {"filename": "a", "content_type": "a/b", "size": 1, "sha256": "A" * 64, "ref": "r"},
            "sha256",
        ),
        ([1, 2], "attachment"),
    ],
)
def test_attachment_from_bad_dict_names_the_field(data: object, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Attachment.from_dict(data)  # type: ignore[arg-type]
    assert caught.value.field == field
