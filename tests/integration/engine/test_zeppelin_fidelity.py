"""Notes run as Zeppelin runs them (issue 14): markdown, interpreters, `z`, the saved file."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobmanager.engine import Environment, Outcome
from tests.integration.engine.conftest import execute, results, write_note

pytestmark = pytest.mark.timeout(60)


def test_markdown_renders_as_zeppelin_flexmark(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        '%md\n## Zeppelin\'s "tutorial"\nSee http://zeppelin.apache.org -- or ~~not~~.\nNext line',
    )
    result, executed = execute(shared_env, note)
    assert result.outcome is Outcome.SUCCEEDED
    assert results(executed, 0) == [
        (
            "HTML",
            '<div class="markdown-body">\n'
            "<h2>Zeppelin&rsquo;s &ldquo;tutorial&rdquo;</h2>\n"
            '<p>See <a href="http://zeppelin.apache.org">http://zeppelin.apache.org</a> &ndash; '
            "or <del>not</del>.<br />\nNext line</p>\n\n</div>",
        )
    ]
