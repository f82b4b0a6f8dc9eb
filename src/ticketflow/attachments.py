"""Attachments: what a message records of a file, and where the bytes live.

A ticket's events record an `Attachment` (file name, content type, size, SHA-256
and a storage reference); the bytes live in the application's blob store, behind
the small `AttachmentStore` protocol. `FileSystemAttachmentStore` keeps them in
a directory, one file per upload.

Decisions:

* **One file per upload, named by a random reference** (not by the content's
  hash): two customers sending the same file get two copies, so erasing one
  person's attachment (`AttachmentStore.delete`, which purge calls) never
  removes another's, and nobody can learn whether a file exists by uploading it.
  The SHA-256 is recorded for integrity and de-duplication by the application.
* **Writes are atomic**: the bytes go to a temporary file in the same
  directory, are flushed to disk, then renamed into place; a crash leaves either
  the whole file or none (a stray ``*.part`` file at worst, removed by `put`'s
  error path when it can).
* **Sizes are bounded** (``max_bytes``, 25 MiB by default): a larger upload is
  refused with `InvalidInputError` naming ``data`` and leaves nothing behind.

Example:
    >>> import tempfile
    >>> from ticketflow.attachments import FileSystemAttachmentStore
    >>> blobs = FileSystemAttachmentStore(tempfile.mkdtemp())
    >>> att = blobs.put(b"%PDF-1.7 ...", filename="invoice.pdf", content_type="application/pdf")
    >>> att.size, att.content_type, blobs.read(att.ref)
    (12, 'application/pdf', b'%PDF-1.7 ...')
    >>> blobs.delete(att.ref), blobs.delete(att.ref)
    (True, False)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Final, Protocol, final, runtime_checkable

import attrs

from . import _validate
from .exceptions import InvalidInputError, TicketflowError

__all__ = [
    "Attachment",
    "AttachmentNotFound",
    "AttachmentStore",
    "FileSystemAttachmentStore",
]

_DEFAULT_MAX_BYTES: Final = 25 * 1024 * 1024

_CHUNK: Final = 1 << 16
_REF: Final = re.compile(r"[0-9a-f]{32}")
_SHA256: Final = re.compile(r"[0-9a-f]{64}")
# RFC 6838 type/subtype names (restricted-name), parameters not kept.
_CONTENT_TYPE: Final = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)
_MAX_FILENAME: Final = 255


class AttachmentNotFound(TicketflowError, KeyError):
    """No attachment is stored under this reference.

    Attributes:
        ref: The reference asked for.
    """

    def __init__(self, ref: str) -> None:
        super().__init__(f"no attachment stored under ref {ref!r}")
        self.ref = ref

    def __str__(self) -> str:
        """The message (not `KeyError`'s quoted repr)."""
        return str(self.args[0])


def _filename(value: object) -> str:
    name = _validate.text(value, "filename", allow_empty=False)
    if len(name) > _MAX_FILENAME:
        raise InvalidInputError(
            f"filename must be at most {_MAX_FILENAME} characters, got {len(name)}",
            field="filename",
        )
    bad = next((c for c in name if c in "/\\" or ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None or name in {".", ".."}:
        raise InvalidInputError(
            f"filename must be a bare file name without path separators or control "
            f"characters, got {name!r}",
            field="filename",
        )
    return name


def _content_type(value: object) -> str:
    text = _validate.text(value, "content_type", allow_empty=False)
    if _CONTENT_TYPE.fullmatch(text) is None:
        raise InvalidInputError(
            f"content_type must be a MIME type such as 'application/pdf', got {text!r}",
            field="content_type",
        )
    return text.lower()


def _size(value: object) -> int:
    if type(value) is not int or value < 0 or value > _validate.INT_MAX:
        raise InvalidInputError(
            f"size must be a whole number of bytes >= 0, got {_validate.describe(value)}",
            field="size",
        )
    return value


def _pattern(value: object, field: str, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise InvalidInputError(f"{field} must be {what}, got {value!r}", field=field)
    return value


def _sha256(value: object) -> str:
    return _pattern(value, "sha256", _SHA256, "64 lowercase hex digits")


def _ref_text(value: object) -> str:
    return _validate.text(value, "ref", allow_empty=False)


@final
@attrs.frozen(kw_only=True, slots=True)
class Attachment:
    """What a message records of an attached file (the bytes live in an `AttachmentStore`).

    Attributes:
        filename: The file's name as sent (a bare name: no directories).
        content_type: Its MIME type, lowercased (``application/pdf``).
        size: Its size in bytes.
        sha256: The SHA-256 of its bytes, 64 lowercase hex digits.
        ref: Where the application's `AttachmentStore` keeps the bytes.
    """

    filename: str = attrs.field(converter=_filename)
    content_type: str = attrs.field(converter=_content_type)
    size: int = attrs.field(converter=_size)
    sha256: str = attrs.field(converter=_sha256)
    ref: str = attrs.field(converter=_ref_text)

    def to_dict(self) -> dict[str, str | int]:
        """Return the attachment as JSON data (what events store)."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "ref": self.ref,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attachment:
        """Build an attachment from `to_dict` output.

        Raises:
            InvalidInputError: a key is missing or a value is invalid (named).
        """
        if not isinstance(data, Mapping):
            raise InvalidInputError(
                f"an attachment must be a mapping, got {_validate.describe(data)}",
                field="attachment",
            )
        missing = [
            k for k in ("filename", "content_type", "size", "sha256", "ref") if k not in data
        ]
        if missing:
            raise InvalidInputError(f"attachment is missing {missing[0]!r}", field=missing[0])
        return cls(
            filename=data["filename"],
            content_type=data["content_type"],
            size=data["size"],
            sha256=data["sha256"],
            ref=data["ref"],
        )


@runtime_checkable
class AttachmentStore(Protocol):
    """Where attachment bytes live: the application's blob store.

    An implementation must make `put` atomic (a reader never sees part of a
    file), give every upload its own reference (never shared between uploads,
    so deleting one never removes another), and make `delete` erase the bytes
    (purge relies on it). It may be called from several threads.
    """

    def put(
        self,
        data: bytes | BinaryIO,
        *,
        filename: str,
        content_type: str = "application/octet-stream",
    ) -> Attachment:
        """Store ``data`` (bytes or a binary file object) and return its `Attachment`."""
        ...

    def read(self, ref: str) -> bytes:
        """Return the bytes stored under ``ref``; raise `AttachmentNotFound` if none."""
        ...

    def delete(self, ref: str) -> bool:
        """Erase the bytes under ``ref``; return whether there were any."""
        ...


def _chunks(data: bytes | BinaryIO) -> Iterable[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
        return
    read = getattr(data, "read", None)
    if read is None:
        raise InvalidInputError(
            f"data must be bytes or a binary file object, got {_validate.describe(data)}",
            field="data",
        )
    while chunk := read(_CHUNK):
        if not isinstance(chunk, bytes):
            raise InvalidInputError(
                f"data must be opened in binary mode, read() returned {type(chunk).__name__}",
                field="data",
            )
        yield chunk


def _check_size(size: int, maximum: int) -> None:
    if size > maximum:
        raise InvalidInputError(f"data is larger than the {maximum} bytes allowed", field="data")


@final
class FileSystemAttachmentStore:
    """Keep attachment bytes in a directory: one file per upload, written atomically.

    Files live at ``root/<ab>/<ref>`` (the first two hex digits of the random
    reference as a sub-directory, so no directory grows past a few thousand
    entries at a million files).

    Args:
        root: The directory (created if missing).
        max_bytes: The largest upload accepted (default 25 MiB).

    Raises:
        InvalidInputError: ``max_bytes`` is not a positive whole number.
    """

    __slots__ = ("_max", "_root")

    def __init__(
        self, root: str | os.PathLike[str], *, max_bytes: int = _DEFAULT_MAX_BYTES
    ) -> None:
        if type(max_bytes) is not int or not 0 < max_bytes <= _validate.INT_MAX:
            raise InvalidInputError(
                f"max_bytes must be a whole number > 0, got {_validate.describe(max_bytes)}",
                field="max_bytes",
            )
        self._root = Path(root)
        self._root.mkdir(parents=True, exist_ok=True)
        self._max = max_bytes

    @property
    def root(self) -> Path:
        """The directory the files are kept in."""
        return self._root

    def _path(self, ref: object) -> Path:
        checked = _pattern(ref, "ref", _REF, "a reference returned by put (32 hex digits)")
        return self._root / checked[:2] / checked

    def put(
        self,
        data: bytes | BinaryIO,
        *,
        filename: str,
        content_type: str = "application/octet-stream",
    ) -> Attachment:
        """Store ``data`` and return its `Attachment` (see `AttachmentStore.put`).

        Raises:
            InvalidInputError: ``data`` is larger than ``max_bytes`` or not bytes
                or a binary file; ``filename`` or ``content_type`` is invalid.
                Nothing is left behind.
        """
        name, kind = _filename(filename), _content_type(content_type)
        ref = secrets.token_hex(16)
        final_path = self._path(ref)
        final_path.parent.mkdir(exist_ok=True)
        temp = final_path.with_name(f"{ref}.part")
        digest = hashlib.sha256()
        size = 0
        try:
            with temp.open("xb") as out:
                for chunk in _chunks(data):
                    size += len(chunk)
                    _check_size(size, self._max)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            temp.replace(final_path)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        return Attachment(
            filename=name, content_type=kind, size=size, sha256=digest.hexdigest(), ref=ref
        )

    def read(self, ref: str) -> bytes:
        """Return the bytes stored under ``ref``.

        Raises:
            AttachmentNotFound: nothing is stored under ``ref``.
            InvalidInputError: ``ref`` is not a reference this store makes.
        """
        try:
            return self._path(ref).read_bytes()
        except FileNotFoundError:
            raise AttachmentNotFound(ref) from None

    def delete(self, ref: str) -> bool:
        """Erase the bytes under ``ref``; return whether there were any.

        Raises:
            InvalidInputError: ``ref`` is not a reference this store makes.
        """
        try:
            self._path(ref).unlink()
        except FileNotFoundError:
            return False
        return True
