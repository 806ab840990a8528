"""The photo store on the local disk: what a photo's bytes go through before its row is committed."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from service.photos.storage import PhotoStore, sha256_of


def test_the_same_photo_written_at_once_by_many_requests_is_stored_whole(tmp_path: Path) -> None:
    """Retries of one upload arrive together: every write succeeds and leaves the file intact."""
    store = PhotoStore(tmp_path)
    failures: list[BaseException] = []
    for attempt in range(10):
        data = os.urandom(600_000) + bytes([attempt])
        start = threading.Barrier(8)

        def write(data: bytes = data, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                store.put(data)
            except OSError as error:
                failures.append(error)

        writers = [threading.Thread(target=write) for _ in range(8)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        assert store.get(sha256_of(data)) == data
    assert failures == []
    assert list(tmp_path.rglob("*.tmp")) == []
