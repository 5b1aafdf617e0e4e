"""Output files are stored with a media type from their name."""

from __future__ import annotations

import pytest

from jobmanager.domain.media_types import media_type_of


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("summary.csv", "text/csv"),
        ("chart.png", "image/png"),
        ("plots/2024/Chart.PNG", "image/png"),
        ("report.html", "text/html"),
        ("result.json", "application/json"),
        ("m_2TESTNOTE.zpln", "application/json"),
        ("analysis.ipynb", "application/x-ipynb+json"),
        ("run.log", "text/plain"),
        ("table.parquet", "application/vnd.apache.parquet"),
        ("config.yml", "application/yaml"),
        ("data.csv.gz", "application/gzip"),
        ("archive.tar.gz", "application/gzip"),
        ("archive.tar.bz2", "application/x-bzip2"),
        ("model.pkl", "application/octet-stream"),
        ("README", "application/octet-stream"),
        (".hidden", "application/octet-stream"),
        ("name with • and spaces.txt", "text/plain"),
    ],
)
def test_a_name_gives_its_media_type(name: str, media_type: str) -> None:
    assert media_type_of(name) == media_type
