"""The CLI's help as a user reads it in an 80-column terminal: no option name cut short, no
sentence broken off, and `run --help` says where the notebook runs and where its outputs
land."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.core import TyperGroup
from typer.testing import CliRunner

from jobmanager.cli import COMMANDS, app, load_command

runner = CliRunner()


def help_of(*words: str) -> str:
    done = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert done.exit_code == 0, done.output
    return done.output


def every_command() -> Iterator[tuple[str, ...]]:
    """The words of every command and sub-command."""

    def walk(words: tuple[str, ...], command: object) -> Iterator[tuple[str, ...]]:
        yield words
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk((*words, name), sub)

    for name in COMMANDS:
        yield from walk((name,), load_command(name))


@pytest.mark.parametrize("words", list(every_command()), ids=" ".join)
def test_no_option_name_is_cut_and_no_line_overflows(words: tuple[str, ...]) -> None:
    text = help_of(*words)
    assert "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines()), text
    command = load_command(words[0])
    for word in words[1:]:
        assert isinstance(command, TyperGroup)
        command = command.commands[word]
    for param in command.params:
        for option in getattr(param, "opts", []):
            if option.startswith("--"):
                assert option in text, f"{option} missing from the help of {words}"
    assert "--install-completion" not in text  # that one is `jobmanager`'s alone


def test_the_command_list_shows_each_line_whole() -> None:
    flat = " ".join(help_of().split())
    for _, _, line in COMMANDS.values():
        assert line in flat


def test_a_group_lists_each_command_s_whole_first_paragraph() -> None:
    flat = " ".join(help_of("jobs").split())
    jobs = load_command("jobs")
    assert isinstance(jobs, TyperGroup)
    for command in jobs.commands.values():
        assert " ".join((command.help or "").split("\n\n")[0].split()) in flat


def test_run_help_says_where_the_notebook_runs_and_where_outputs_land() -> None:
    flat = " ".join(help_of("run").split())
    assert "working directory" in flat
    assert "`inputFolder` and `outputFolder`" in flat
    assert "lands in --output (default ./NOTEBOOK-output)" in flat


def test_defaults_in_help_texts_are_shown_not_read_as_markup() -> None:
    assert "[default: 1]" in " ".join(help_of("configs", "create").split())
    assert "[default: a notebook stops" in " ".join(help_of("run-note").split())
