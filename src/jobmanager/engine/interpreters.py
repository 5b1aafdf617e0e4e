"""Resolve a paragraph's `%prefix` to the executor that runs it, by Zeppelin's rules."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# Interpreters of each group, default first (each group's interpreter-setting.json).
GROUPS: dict[str, tuple[str, ...]] = {
    "python": ("python", "ipython", "sql", "conda", "docker"),
    "spark": ("spark", "sql", "pyspark", "ipyspark", "r", "ir", "shiny", "kotlin"),
    "sh": ("sh", "terminal"),
    "md": ("md",),
    "angular": ("angular",),
    "jdbc": ("jdbc",),
    "r": ("r", "ir", "shiny"),
}


_SPARK_PYTHON = ("pyspark", "ipyspark")


class Executor(enum.Enum):
    PYTHON = "python"  # the environment's Python kernel
    PYTHON_SQL = "python_sql"  # SQL over the Python kernel's pandas DataFrames
    SPARK = "spark"  # the PySpark kernel
    SPARK_SQL = "spark_sql"
    SPARK_CONF = "spark_conf"  # properties of the Spark session, before it starts
    SHELL = "shell"
    MARKDOWN = "markdown"
    ANGULAR = "angular"  # the text is the result (Zeppelin's front end runs it)
    UNSUPPORTED = "unsupported"


_EXECUTORS = {
    "python.python": Executor.PYTHON,
    "python.ipython": Executor.PYTHON,
    "python.sql": Executor.PYTHON_SQL,
    "spark.pyspark": Executor.SPARK,
    "spark.ipyspark": Executor.SPARK,
    "spark.sql": Executor.SPARK_SQL,
    "spark.conf": Executor.SPARK_CONF,
    "sh.sh": Executor.SHELL,
    "md.md": Executor.MARKDOWN,
    "angular.angular": Executor.ANGULAR,
}
# What the interpreters this engine cannot run are written in.
_LANGUAGES = {
    "spark.spark": "Scala",
    "spark.r": "R",
    "spark.ir": "R",
    "spark.kotlin": "Kotlin",
    "r.r": "R",
    "r.ir": "R",
    "jdbc.jdbc": "SQL over JDBC",
    "flink.flink": "Scala",
}


@dataclass(frozen=True)
class Resolved:
    """`prefix` is the paragraph's `%prefix` as written ("" for none)."""

    executor: Executor
    prefix: str
    full_name: str

    @property
    def name(self) -> str:
        """What messages call the interpreter: the prefix as written, else the full name."""
        return self.prefix or self.full_name

    def needs(self) -> str:
        """The Zeppelin interpreter the paragraph needs, e.g. "Zeppelin's spark.spark
        interpreter (Scala, the note's default)"."""
        notes = [_LANGUAGES.get(self.full_name, "")]
        notes.append("" if self.prefix else "the note's default")
        detail = ", ".join(n for n in notes if n)
        return f"Zeppelin's {self.full_name} interpreter" + (f" ({detail})" if detail else "")

    def unsupported(self) -> str:
        return f"Interpreter {self.name} is not supported: the paragraph needs {self.needs()}"


def _full_name(prefix: str, default_group: str) -> str:
    """`group.interpreter` for a prefix, as Zeppelin's InterpreterFactory resolves it."""
    if not prefix:
        group = default_group
        return f"{group}.{GROUPS.get(group, (group,))[0]}"
    if "." in prefix:
        return prefix
    if prefix in GROUPS.get(default_group, ()):
        return f"{default_group}.{prefix}"
    if prefix in _SPARK_PYTHON:
        return f"spark.{prefix}"  # no group of that name: `%pyspark` means Spark's anywhere
    return f"{prefix}.{GROUPS.get(prefix, (prefix,))[0]}"


def resolve(prefix: str, default_group: str) -> Resolved:
    """Resolve `prefix` ("" for none) in a note whose default group is `default_group`."""
    full = _full_name(prefix, default_group)
    executor = _EXECUTORS.get(full, Executor.UNSUPPORTED)
    return Resolved(executor, prefix, full)
