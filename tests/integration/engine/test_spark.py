"""`%pyspark` and `%spark.sql` on a local SparkSession, when pyspark is available.

pyspark is not a dependency of the development install: point
`JOBMANAGER_TEST_SPARK_PYTHONPATH` at a folder holding it (`pip install --target DIR
pyspark`) to run these; without it they are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmanager.engine import Environment, EnvironmentSpec, Outcome
from tests.integration.engine.conftest import execute, results, write_note

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def spark_env() -> Iterator[Environment]:
    path = os.environ.get("JOBMANAGER_TEST_SPARK_PYTHONPATH", "")
    env = Environment.start(EnvironmentSpec(env_vars={"PYTHONPATH": path} if path else {}))
    try:
        if not env.has_module("pyspark"):
            pytest.skip("pyspark is not installed")
        yield env
    finally:
        env.destroy()


def test_pyspark_sql_and_shared_values(spark_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "%python\nz.put('greeting', 'hi')",
        "%pyspark\ndf = spark.createDataFrame([(1, 'a'), (2, 'b')], ['n', 's'])\n"
        "df.createOrReplaceTempView('t')\nprint(z.get('greeting'), df.count())\nz.show(df)",
        "%spark.sql\nselect n * 10 as m from t where n > ${min=1}",
        "%spark.pyspark\nz.put('from_spark', 42)",
        "print(z.get('from_spark'))",
    )
    result, executed = execute(spark_env, note)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert results(executed, 1) == [("TEXT", "hi 2\n"), ("TABLE", "n\ts\n1\ta\n2\tb\n")]
    assert results(executed, 2) == [("TABLE", "m\n20\n")]
    assert results(executed, 4) == [("TEXT", "42\n")]
