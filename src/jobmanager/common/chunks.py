"""Reading a byte stream in chunks: the one loop and the one chunk size for every stream
the service moves (blob reads, downloads, input staging, output uploads, upload batches).

A leaf module: it imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

CHUNK_SIZE = 1024 * 1024


def chunks_of(handle: BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The bytes of `handle`, `size` at a time. The handle is closed once they are read,
    or when the iteration is closed early (a client that goes away mid-download)."""
    with handle:
        while chunk := handle.read(size):
            yield chunk
