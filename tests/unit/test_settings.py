"""Settings: defaults, validation, and masking of secrets for the start-up log."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from jobmanager.common.home import HOME_VARIABLE, home_from_environment
from jobmanager.startup.settings import Settings, mask_url


def test_embedded_default_is_sqlite_under_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'jobmanager.db'}"
    assert settings.resolved_blob_url == str(tmp_path / "blobs")
    assert settings.is_embedded
    assert settings.port == 8080


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JOBMANAGER_PORT", "9090")
    monkeypatch.setenv("JOBMANAGER_DATABASE_URL", "postgresql+psycopg://u:pw@db/x")
    settings = Settings(home=tmp_path)
    assert settings.port == 9090
    assert not settings.is_embedded


def test_the_cli_finds_the_home_the_settings_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(HOME_VARIABLE, str(tmp_path))
    assert Settings().home == home_from_environment().resolve() == tmp_path.resolve()


def test_the_default_home_is_the_users_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(HOME_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert Settings().home == home_from_environment() == tmp_path / "jobmanager"


def test_masked_settings_hide_passwords(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        database_url="postgresql+psycopg://user:hunter2@db/jobs",
        broker_url="amqp://guest:guest@localhost//",
    )
    shown = settings.masked()
    assert "hunter2" not in str(shown)
    assert shown["database_url"] == "postgresql+psycopg://user:***@db/jobs"
    assert shown["broker_url"] == "amqp://guest:***@localhost//"


def test_bad_values_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        Settings(home=tmp_path, port=70000)
    with pytest.raises(ValidationError):
        Settings(home=tmp_path, token_ttl_seconds=1)


def test_mask_url_leaves_urls_without_password() -> None:
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_the_log_format_is_text_or_json(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).log_format == "text"
    assert Settings(home=tmp_path, log_format="json").log_format == "json"
    with pytest.raises(ValidationError, match="'text' or 'json'"):
        Settings(home=tmp_path, log_format="xml")


def test_the_warm_pool_holds_every_slot_plus_two_unless_set(tmp_path: Path) -> None:
    assert Settings(home=tmp_path, job_slots=2).warm_pool_size == 4
    assert Settings(home=tmp_path, job_slots=2, warm_environments=1).warm_pool_size == 1
    assert Settings(home=tmp_path, job_slots=0).warm_pool_size == 0  # an API-only replica


def test_the_local_service_idles_15_minutes_by_default(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).local_idle_minutes == 15
    with pytest.raises(ValidationError):
        Settings(home=tmp_path, local_idle_minutes=0)


def test_metrics_beyond_loopback_need_the_token_the_api_s_and_a_worker_s(
    tmp_path: Path,
) -> None:
    local = Settings(home=tmp_path)
    assert local.worker_metrics_host == "127.0.0.1" and local.worker_metrics_port is None
    assert local.unguarded_metrics() is None and local.unguarded_worker_metrics() is None
    worker_open = Settings(home=tmp_path, worker_metrics_host="0.0.0.0", host="0.0.0.0")
    said = worker_open.unguarded_worker_metrics()
    assert said is not None and said.startswith("JOBMANAGER_WORKER_METRICS_HOST=0.0.0.0 is not")
    assert str(worker_open.unguarded_metrics()).startswith("JOBMANAGER_HOST=0.0.0.0 is not")
    guarded = Settings(home=tmp_path, worker_metrics_host="::", metrics_token="t")
    assert guarded.unguarded_worker_metrics() is None


def test_the_queue_name_is_checked(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).queue_name == "jobmanager.jobs"
    assert Settings(home=tmp_path, queue_name="staging.jobs").queue_name == "staging.jobs"
    for bad in ("", "two words", "*", "x" * 201):
        with pytest.raises(ValidationError):
            Settings(home=tmp_path, queue_name=bad)
