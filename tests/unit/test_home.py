"""Choosing the home: `$JOBMANAGER_HOME`, else the user's data folder, an older version's
`./.jobmanager` moved there (or used where it is, saying why); nothing is ever lost."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jobmanager.common import home
from jobmanager.common.home import HOME_VARIABLE, choose_home, hold_serve_lock, make_private
from tests.tmpfs import read_only


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(HOME_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "jobmanager"


def older_home(folder: Path) -> Path:
    legacy = folder / ".jobmanager"
    (legacy / "blobs" / "ab").mkdir(parents=True)
    (legacy / "jobmanager.db").write_text("the database")
    (legacy / "blobs" / "ab" / "cd").write_text("a blob")
    return legacy


def test_the_default_is_the_users_data_folder_whatever_the_working_folder(
    data: Path, tmp_path: Path
) -> None:
    assert choose_home(tmp_path / "a") == choose_home(tmp_path / "b") == home.HomeChoice(data)


def test_jobmanager_home_wins_and_an_older_home_is_left_alone(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = older_home(tmp_path)
    monkeypatch.setenv(HOME_VARIABLE, str(tmp_path / "chosen"))
    assert choose_home(tmp_path) == home.HomeChoice((tmp_path / "chosen").resolve())
    assert legacy.is_dir() and not data.exists()


def test_an_older_home_moves_to_the_default_whole_and_says_so_once(
    data: Path, tmp_path: Path
) -> None:
    legacy = older_home(tmp_path)
    moved = choose_home(tmp_path)
    assert moved.path == data
    assert moved.note == f"moved {legacy}, the home of an older jobmanager, to {data}"
    assert not legacy.exists()
    assert (data / "jobmanager.db").read_text() == "the database"
    assert (data / "blobs" / "ab" / "cd").read_text() == "a blob"
    assert choose_home(tmp_path) == home.HomeChoice(data)


def test_across_file_systems_it_is_copied_then_removed(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = older_home(tmp_path)
    real_rename = os.rename

    def rename(source: object, target: object) -> None:
        if Path(str(source)) == legacy:  # the one rename a second file system refuses
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", rename)
    assert choose_home(tmp_path).path == data
    assert (data / "blobs" / "ab" / "cd").read_text() == "a blob"
    assert not legacy.exists()
    assert [p.name for p in data.parent.iterdir()] == ["jobmanager"]  # no copy left over


def test_an_older_home_in_use_stays_where_it_is(data: Path, tmp_path: Path) -> None:
    legacy = older_home(tmp_path)
    descriptor = hold_serve_lock(legacy)  # a service runs on it
    try:
        used = choose_home(tmp_path)
    finally:
        os.close(descriptor)
    assert used.path == legacy.resolve() and used.note is not None
    assert "while a service runs on it" in used.note and str(data) in used.note
    assert (legacy / "jobmanager.db").exists() and not data.exists()


def test_an_older_home_whose_database_a_process_holds_open_stays(
    data: Path, tmp_path: Path
) -> None:
    """An older version's `jobmanager serve`, run by hand, records nothing: its open
    database says it runs."""
    legacy = older_home(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(legacy / "jobmanager.db")],
        stdout=subprocess.PIPE,
        text=True,
    )
    with holder:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        used = choose_home(tmp_path)
        holder.kill()
    assert used.path == legacy.resolve() and not data.exists()
    assert choose_home(tmp_path).path == data  # once it is closed


HOLD_OPEN = "import sys, time\nf = open(sys.argv[1])\nprint('open', flush=True)\ntime.sleep(60)"


def test_an_older_home_stays_when_the_default_holds_another(data: Path, tmp_path: Path) -> None:
    legacy = older_home(tmp_path)
    data.mkdir(parents=True)
    (data / "jobmanager.db").write_text("another")
    used = choose_home(tmp_path)
    assert used.path == legacy.resolve()
    assert used.note is not None and f"the default home {data} holds another" in used.note
    assert (data / "jobmanager.db").read_text() == "another"
    assert (legacy / "jobmanager.db").read_text() == "the database"


def test_make_private_closes_an_older_homes_modes(tmp_path: Path) -> None:
    folder = tmp_path / "home"
    (folder / "keys").mkdir(parents=True, mode=0o755)
    os.chmod(folder, 0o755)
    for path in (folder / "jobmanager.db", folder / "keys" / "signing.pem"):
        path.write_text("x")
        os.chmod(path, 0o644)
    make_private(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "jobmanager.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "keys" / "signing.pem").stat().st_mode) == 0o600


def test_make_private_closes_the_keys_folder_too(tmp_path: Path) -> None:
    keys = tmp_path / "home" / "keys"
    keys.mkdir(parents=True)
    os.chmod(keys, 0o755)
    assert make_private(tmp_path / "home") == []
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700


def test_make_private_leaves_a_read_only_keys_mount_and_says_so(tmp_path: Path) -> None:
    """A Kubernetes secret mounted at keys/: read-only, its modes the mount's."""
    home_folder = tmp_path / "home"
    keys = home_folder / "keys"
    keys.mkdir(parents=True)
    (keys / "signing.pem").write_text("x")
    os.chmod(keys / "signing.pem", 0o644)
    os.chmod(keys, 0o755)
    with read_only(keys):
        left = make_private(home_folder)
        assert sorted(left) == [keys, keys / "signing.pem"]
        assert stat.S_IMODE((keys / "signing.pem").stat().st_mode) == 0o644
    assert stat.S_IMODE(home_folder.stat().st_mode) == 0o700
