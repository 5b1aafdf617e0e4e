"""The PySpark kernel's session: what Zeppelin's `%spark.conf` sets and the names its
PySpark interpreter defines.

Zeppelin's `%spark.conf` paragraph holds Java properties that configure the Spark
interpreter before it starts (`ConfInterpreter`); here they configure the local
SparkSession the Spark kernel creates on first use. Spark always runs in local mode, so a
non-local master is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_SEPARATOR = re.compile(r"\s*[=:]\s*|\s+")
CONF_AFTER_START = (
    "java.io.IOException: Can not change interpreter properties when interpreter process "
    "has already been launched"
)

_PREAMBLE = """
import os, sys, warnings
import importlib.util as _util
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
from pyspark.conf import SparkConf
from pyspark.context import SparkContext
from pyspark.sql import SparkSession, SQLContext
_builder = (SparkSession.builder.master("local[*]").appName("jobmanager")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled",
                    str(_util.find_spec("pyarrow") is not None).lower()){conf})
spark = _builder.getOrCreate()
sc = spark.sparkContext
conf = sc.getConf()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    sqlContext = sqlc = SQLContext._get_or_create(sc)
del _util, _builder
"""


def parse_properties(text: str) -> dict[str, str]:
    """Java `Properties` text (`key value`, `key=value`, `key: value`, `#`/`!` comments,
    `\\` continuations) as a dict with trimmed keys and values."""
    properties: dict[str, str] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        key, *value = _SEPARATOR.split(logical, maxsplit=1)
        properties[key.strip()] = value[0].strip() if value else ""
        logical = ""
    return properties


def session_conf(properties: Mapping[str, str]) -> dict[str, str]:
    """The Spark properties the local session takes (`master` is Zeppelin's old name of
    `spark.master`; only a local master is honoured)."""
    conf = {k: v for k, v in properties.items() if k.startswith("spark.")}
    master = conf.pop("spark.master", properties.get("master", ""))
    if master.startswith("local"):
        conf["spark.master"] = master
    return conf


def preamble(conf: Mapping[str, str]) -> str:
    """Code that creates `spark`, `sc`, `sqlContext`/`sqlc` and `conf` in the kernel, with
    the names Zeppelin's PySpark interpreter also defines (`os`, `sys`, `SparkConf`...)."""
    settings = "".join(f"\n            .config({k!r}, {v!r})" for k, v in conf.items())
    return _PREAMBLE.replace("{conf}", settings)
