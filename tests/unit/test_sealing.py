"""The box of webhook secrets: sealed with the key file beside the signing keys, opened
again, rotated (keeping the key before), re-read when another process changed the file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from jobmanager.auth.sealing import KEY_FILE, SEALED, SecretBox, UnreadableSecret

SECRET = "a-secret-only-the-receiver-knows"


def test_a_sealed_secret_shows_nothing_of_it_and_opens_again(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path / "keys")
    sealed = box.seal(SECRET)
    assert sealed.startswith(SEALED) and SECRET not in sealed
    assert box.seal(SECRET) != sealed  # a fresh nonce each time
    assert box.open(sealed) == SECRET
    mode = stat.S_IMODE((tmp_path / "keys" / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    assert SecretBox.load_or_create(tmp_path / "keys").open(sealed) == SECRET  # the same key


def test_a_value_stored_before_sealing_is_the_secret_itself(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path)
    assert box.open(SECRET) == SECRET
    assert box.open(box.reseal(SECRET)) == SECRET


def test_another_key_opens_nothing(tmp_path: Path) -> None:
    sealed = SecretBox.load_or_create(tmp_path / "one").seal(SECRET)
    with pytest.raises(UnreadableSecret):
        SecretBox.load_or_create(tmp_path / "other").open(sealed)


def test_rotating_keeps_the_key_before_until_the_next_rotation(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path)
    first = box.seal(SECRET)
    box.rotate()
    second = box.seal(SECRET)
    assert box.open(first) == box.open(second) == SECRET
    assert box.open(box.reseal(first)) == SECRET
    box.rotate()
    assert box.open(second) == SECRET
    with pytest.raises(UnreadableSecret):
        box.open(first)
    assert len((tmp_path / KEY_FILE).read_bytes().split()) == 2


def test_a_box_reads_the_file_again_when_another_process_rotated_it(tmp_path: Path) -> None:
    replica = SecretBox.load_or_create(tmp_path)
    operator = SecretBox(tmp_path / KEY_FILE)
    operator.rotate()
    sealed_by_operator = operator.seal(SECRET)
    assert replica.open(sealed_by_operator) == SECRET  # read again on the first miss
    sealed_by_replica = replica.seal(SECRET)
    operator.rotate()  # the replica's key is now the one kept
    assert operator.open(sealed_by_replica) == SECRET
