"""Entries of the OCR queue that are not a job this version reads are logged, not dropped unseen."""

from __future__ import annotations

import logging

import pytest

from service.photos.queue import Job, _entry


def test_a_job_is_read_from_its_entry() -> None:
    entry = _entry(b"1-0", {b"job": b'{"photo_id": 7}'})
    assert entry.id == "1-0" and entry.job == Job(7)


@pytest.mark.parametrize(
    "fields",
    [{b"job": b"not json"}, {b"job": b'{"photo": 7}'}, {b"other": b"x"}],
    ids=["undecodable", "another shape", "no job field"],
)
def test_an_entry_that_is_no_job_is_logged_with_what_it_held(
    fields: dict[bytes, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="service.photos.queue"):
        entry = _entry(b"2-0", fields)
    assert entry.job is None
    assert "2-0" in caplog.text and repr(fields) in caplog.text
