"""Code run INSIDE a job's kernel: the Zeppelin `z` object and the engine's helpers.

The engine sends this file's source to the kernel (whose Python may not have jobmanager
installed), so it imports only the standard library at load time. Forms and `z.put` are
reported to the engine as display data of `ENGINE_MIME`, which the engine consumes and
never writes into results.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

ENGINE_MIME = "application/vnd.jobmanager.engine+json"


def _publish(payload: dict[str, Any]) -> None:
    from IPython.display import publish_display_data

    publish_display_data({ENGINE_MIME: payload})  # type: ignore[no-untyped-call]


def _cell(value: Any) -> str:
    return str(value).replace("\t", " ").replace("\r\n", " ").replace("\n", " ")


def _options(options: Iterable[Any]) -> list[dict[str, Any]]:
    """Zeppelin ParamOptions from `(value, displayName)` tuples or plain values."""
    result = []
    for option in options:
        if isinstance(option, tuple | list) and len(option) == 2:
            result.append({"value": option[0], "displayName": option[1]})
        else:
            result.append({"value": option})
    return result


def form_shape(
    type_: str, name: str, label: str, default: Any, options: Any, hidden: bool
) -> dict[str, Any]:
    """A form as Zeppelin's Gson writes it into `settings.forms` (a password has no
    default value)."""
    form: dict[str, Any] = {"type": type_}
    if options:
        form["options"] = options
    form.update({"name": name, "displayName": label})
    if type_ != "Password":
        form["defaultValue"] = default
    form["hidden"] = hidden
    return form


class ZeppelinContext:
    """The `z` object of Zeppelin's Python interpreter (the parts a batch job can use)."""

    def __init__(self, store: Mapping[str, Any], max_result: int) -> None:
        self.max_result = max_result
        self._params: dict[str, Any] = {}
        self._store: dict[str, Any] = dict(store)

    # -- dynamic forms -------------------------------------------------------------
    def _form(self, type_: str, name: str, label: str, default: Any, options: Any = None) -> Any:
        value = self._params.get(name, default)
        self._params[name] = value
        form = form_shape(type_, name, label or name, default, options, hidden=False)
        _publish({"op": "form", "name": name, "form": form, "value": value})
        return value

    def textbox(self, name: str, defaultValue: Any = "", displayName: str = "") -> Any:
        return self._form("TextBox", name, displayName, defaultValue)

    def input(self, name: str, defaultValue: Any = "", displayName: str = "") -> Any:
        return self.textbox(name, defaultValue, displayName)

    def password(self, name: str, displayName: str = "") -> Any:
        return self._form("Password", name, displayName, "")

    def select(
        self, name: str, options: Iterable[Any], defaultValue: Any = "", displayName: str = ""
    ) -> Any:
        return self._form("Select", name, displayName, defaultValue, _options(options))

    def checkbox(
        self,
        name: str,
        options: Iterable[Any],
        defaultChecked: Iterable[Any] | None = None,
        displayName: str = "",
    ) -> Any:
        opts = _options(options)
        checked = [o["value"] for o in opts] if defaultChecked is None else list(defaultChecked)
        return self._form("CheckBox", name, displayName, checked, opts)

    # -- resource pool ---------------------------------------------------------------
    def put(self, key: str, value: Any) -> None:
        """Store a value; JSON values are also shared with the note's other kernels."""
        self._store[key] = value
        try:
            _publish({"op": "put", "key": key, "value": json.loads(json.dumps(value))})
        except (TypeError, ValueError):
            _publish({"op": "put", "key": key, "local": True})

    def get(self, key: str) -> Any:
        return self._store.get(key)

    def remove(self, key: str) -> None:
        self._store.pop(key, None)
        _publish({"op": "put", "key": key, "local": True})

    # -- display -----------------------------------------------------------------------
    def show(self, obj: Any, show_index: bool = False, **_: Any) -> None:
        """Print a DataFrame as a Zeppelin `%table`, at most `max_result` rows."""
        module = type(obj).__module__
        if module.startswith("pyspark"):
            rows = obj.limit(self.max_result + 1).toPandas()
            self._show_pandas(rows, show_index)
        elif module.startswith("pandas") and hasattr(obj, "columns"):
            self._show_pandas(obj, show_index)
        else:
            print(str(obj))

    def _show_pandas(self, df: Any, show_index: bool) -> None:
        limited = len(df) > self.max_result
        head = df.head(self.max_result) if limited else df
        header = [_cell(c) for c in head.columns]
        if show_index:
            header.insert(0, _cell(df.index.name or ""))
        lines = ["\t".join(header)]
        for idx, row in zip(head.index, head.itertuples(index=False), strict=True):
            cells = [_cell(v) for v in row]
            if show_index:
                cells.insert(0, f"%html <strong>{idx}</strong>")
            lines.append("\t".join(cells))
        sys.stdout.write("%table " + "\n".join(lines) + "\n\n")
        if limited:
            sys.stdout.write(
                f"%html <font color=red>Results are limited by {self.max_result}.</font>\n"
            )
        sys.stdout.flush()


class StreamBudget:
    """Drops what one execution writes to stdout/stderr beyond `limit` characters, so that
    a print flood never travels to the engine (which keeps less than this anyway)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def reset(self) -> None:
        self.used = 0

    def wrap(self, stream: Any) -> None:
        """Give `stream` a class whose `write` keeps to the budget.

        `write` is a property that ignores assignment: IPython re-assigns the instance's
        `write` around every cell (to keep stream output in its history), which would
        undo the budget and keep every flood in the kernel's memory.
        """
        budget = self
        base = type(stream)

        def limited(self: Any, text: str) -> int:
            room = budget.limit - budget.used
            budget.used += len(text)
            if room > 0:
                base.write(self, text if len(text) <= room else text[:room])
            return len(text)

        def get(self: Any) -> Any:
            return limited.__get__(self)

        stream.__class__ = type(
            "Limited" + base.__name__, (base,), {"write": property(get, lambda self, value: None)}
        )


class EngineRuntime:
    """What the engine calls in the kernel: per-paragraph setup and SQL."""

    def __init__(self, user_ns: dict[str, Any], z: ZeppelinContext) -> None:
        self.user_ns = user_ns
        self.z = z

    def begin(self, params: Mapping[str, Any], shared: Mapping[str, Any]) -> None:
        """Before a paragraph: its form values, and values put by other kernels."""
        self.z._params = dict(params)
        self.z._store.update(shared)

    def sql(self, query: str) -> None:
        """`%python.sql`: run SQLite SQL over the DataFrames the query names."""
        import sqlite3

        import pandas as pd

        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query))
        conn = sqlite3.connect(":memory:")
        try:
            for name in words:
                value = self.user_ns.get(name)
                if isinstance(value, pd.DataFrame):
                    value.to_sql(name, conn, index=False)
            result = pd.read_sql_query(query, conn)
        finally:
            conn.close()
        self.z.show(result)

    def spark_sql(self, query: str) -> None:
        """`%spark.sql`: run Spark SQL and show the result."""
        self.z.show(self.user_ns["spark"].sql(query))


def install(user_ns: dict[str, Any], config: Mapping[str, Any]) -> EngineRuntime:
    """Put `z`, `inputFolder` and `outputFolder` in the user namespace."""
    budget = StreamBudget(int(config["stream_limit"]))
    budget.wrap(sys.stdout)
    budget.wrap(sys.stderr)
    from IPython import get_ipython

    get_ipython().events.register("pre_execute", budget.reset)
    z = ZeppelinContext(config["store"], int(config["max_result"]))
    user_ns["z"] = z
    user_ns["inputFolder"] = config["store"]["inputFolder"]
    user_ns["outputFolder"] = config["store"]["outputFolder"]
    return EngineRuntime(user_ns, z)
