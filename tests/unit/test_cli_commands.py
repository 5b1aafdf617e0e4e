"""`jobmanager --help` lists the commands from a table, without importing them: the
table's help lines must stay those of the commands themselves."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jobmanager.cli import COMMANDS, load_command


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_help_line_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    assert " ".join((command.help or "").split()).startswith(COMMANDS[name][2])


def test_help_imports_no_command_module() -> None:
    probe = (
        "import sys\n"
        "from jobmanager.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "loaded = [m for m in sys.modules if m.startswith('jobmanager.cli.')]\n"
        "print('loaded:' + ','.join(sorted(loaded)))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "loaded:"
