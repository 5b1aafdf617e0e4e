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


def test_spark_conf_namespace_and_jvm_style_cells(tmp_path: Path) -> None:
    """`%spark.conf` configures the session before it starts and is refused after;
    the PySpark namespace and table cells are Zeppelin's."""
    path = os.environ.get("JOBMANAGER_TEST_SPARK_PYTHONPATH", "")
    with Environment.start(EnvironmentSpec(env_vars={"PYTHONPATH": path} if path else {})) as env:
        if not env.has_module("pyspark"):
            pytest.skip("pyspark is not installed")
        note = write_note(
            tmp_path / "n.zpln",
            "%spark.conf\n# before the session starts\nspark.sql.shuffle.partitions 3\n"
            "master yarn-client",
            "%pyspark\nprint(spark.conf.get('spark.sql.shuffle.partitions'), sc.master,"
            " type(sqlc).__name__, sqlContext is sqlc, os.sep, sys.maxsize > 0,"
            " SparkConf.__name__)",
            "%spark.sql\nselect true as t, false as f, cast(null as int) as n, 1e10 as big,"
            " 0.25d as small, timestamp'2024-03-05 10:15:02' as at, named_struct('a', 1) as s",
            "%spark.conf\nspark.sql.shuffle.partitions 5",
            "%spark.conf\n# comments change nothing, even now",
        )
        result, executed = execute(env, note)
    assert results(executed, 1) == [("TEXT", "3 local[*] SQLContext True / True SparkConf\n")]
    assert results(executed, 2) == [
        (
            "TABLE",
            "t\tf\tn\tbig\tsmall\tat\ts\ntrue\tfalse\tnull\t1.0E10\t0.25\t"
            "2024-03-05 10:15:02.0\t[1]\n",
        )
    ]
    refused = (
        "java.io.IOException: Can not change interpreter properties when interpreter process "
        "has already been launched"
    )
    assert results(executed, 3) == [("TEXT", refused)]
    assert executed["paragraphs"][4]["status"] == "FINISHED"
    assert result.message.startswith("Paragraph 4 of 5 failed")
