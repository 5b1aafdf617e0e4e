"""Code run INSIDE a job's kernel: the Zeppelin `z` object and the engine's helpers.

The engine sends this file's source to the kernel (whose Python may not have jobmanager
installed), so it imports only the standard library at load time. Forms and `z.put` are
reported to the engine as display data of `ENGINE_MIME`, which the engine consumes and
never writes into results.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

ENGINE_MIME = "application/vnd.jobmanager.engine+json"
# The key of a paragraph's execute request metadata that holds its InterpreterContext.
CONTEXT_METADATA = "jobmanager.interpreterContext"
SPARK_LIMIT_ALERT = (
    '<div class="result-alert alert-warning" role="alert">'
    '<button type="button" class="close" data-dismiss="alert" aria-label="Close">'
    '<span aria-hidden="true">&times;</span></button>'
    "<strong>Output is truncated</strong> to {limit} rows. Learn more about "
    "<strong>zeppelin.spark.maxResult</strong></div>"
)


def _publish(payload: dict[str, Any]) -> None:
    from IPython.display import publish_display_data

    publish_display_data({ENGINE_MIME: _jsonable(payload)})  # type: ignore[no-untyped-call]


def _jsonable(value: Any) -> Any:
    """`value` as JSON can carry it: a NaN or an infinity (a form's value may be one) as
    the text Java writes for it, which Zeppelin's Gson would write too."""
    if isinstance(value, float) and not math.isfinite(value):
        return _java_double(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


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
    type_: str,
    name: str,
    label: str,
    default: Any,
    options: Any,
    hidden: bool,
    argument: str | None = None,
) -> dict[str, Any]:
    """A form as Zeppelin's Gson writes an `Input` into `settings.forms`: the type, the
    options of a select or checkbox, then the fields of `Input`, null ones left out."""
    form: dict[str, Any] = {"type": type_}
    if options is not None:
        form["options"] = options
    form.update({"name": name, "displayName": label})
    if default is not None:
        form["defaultValue"] = default
    form["hidden"] = hidden
    if argument is not None:
        form["argument"] = argument
    return form


def _java_double(value: float) -> str:
    """`Double.toString`: positional from 10^-3 to 10^7, else `1.5E-5`."""
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    power = len(digits) - 1 + int(exponent)
    shown = "".join(map(str, digits)).rstrip("0") or "0"
    return f"{'-' if sign else ''}{shown[0]}.{shown[1:] or '0'}E{power}"


def _java_string(value: Any) -> str:
    """A Spark row value as Zeppelin's JVM side prints it (`Object.toString`)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, datetime.datetime):
        nanos = f"{value.microsecond * 1000:09d}".rstrip("0") or "0"
        return f"{value:%Y-%m-%d %H:%M:%S}.{nanos}"
    if isinstance(value, tuple):  # a struct (pyspark's Row is a tuple)
        return "[" + ",".join(_java_string(v) for v in value) + "]"
    return str(value)


class ParagraphOutput:
    """`InterpreterContext.out()`: the output of the running paragraph."""

    def write(self, text: Any) -> None:
        sys.stdout.write(str(text))

    def flush(self) -> None:
        sys.stdout.flush()

    def clear(self) -> None:
        """Drop what the paragraph has shown so far (`InterpreterOutput.clear`)."""
        from IPython.display import clear_output

        clear_output()  # type: ignore[no-untyped-call]


class AuthenticationInfo:
    def __init__(self, user: str) -> None:
        self._user = user

    def getUser(self) -> str:
        return self._user


class InterpreterContext:
    """What Zeppelin's `InterpreterContext` tells a paragraph about itself, by its getters
    (`Paragraph.getInterpreterContext` fills them): the note, the paragraph, its local
    properties, its config, the user, and `out()`. Outside a note (a notebook) they are
    empty."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self._fields = dict(fields)
        self._properties: dict[str, str] = dict(fields.get("localProperties") or {})

    def _get(self, name: str) -> Any:
        return self._fields.get(name)

    def getNoteId(self) -> Any:
        return self._get("noteId")

    def getNoteName(self) -> Any:
        return self._get("noteName")

    def getParagraphId(self) -> Any:
        return self._get("paragraphId")

    def getParagraphText(self) -> Any:
        return self._get("paragraphText")

    def getParagraphTitle(self) -> Any:
        return self._get("paragraphTitle")

    def getReplName(self) -> Any:
        return self._get("replName")

    def getConfig(self) -> dict[str, Any]:
        return dict(self._get("config") or {})

    def getAuthenticationInfo(self) -> AuthenticationInfo:
        return AuthenticationInfo(self._get("user") or "anonymous")

    def getLocalProperties(self) -> dict[str, str]:
        return dict(self._properties)

    def getStringLocalProperty(self, key: str, defaultValue: str) -> str:
        return self._properties.get(key, defaultValue)

    def getIntLocalProperty(self, key: str, defaultValue: int) -> int:
        return int(self._properties.get(key, defaultValue))

    getLongLocalProperty = getIntLocalProperty

    def getDoubleLocalProperty(self, key: str, defaultValue: float) -> float:
        return float(self._properties.get(key, defaultValue))

    def getBooleanLocalProperty(self, key: str, defaultValue: bool) -> bool:
        """`Boolean.parseBoolean`: "true" in any case is True, anything else False."""
        return str(self._properties.get(key, str(defaultValue))).lower() == "true"

    def out(self) -> ParagraphOutput:
        return ParagraphOutput()


class ZeppelinContext:
    """The `z` object of Zeppelin's Python interpreter (the parts a batch job can use)."""

    def __init__(self, store: Mapping[str, Any], max_result: int) -> None:
        self.max_result = max_result
        self._params: dict[str, Any] = {}
        self._store: dict[str, Any] = dict(store)

    # -- dynamic forms (the defaults of Zeppelin's Python `z`) ------------------------
    def _form(self, form: dict[str, Any], value: Any, record: bool = True) -> Any:
        if record:
            self._params[form["name"]] = value
        _publish({"op": "form", "form": form, "value": value, "record": record})
        return value

    def textbox(self, name: str, defaultValue: Any = "", displayName: str = "") -> Any:
        form = form_shape("TextBox", name, displayName or name, defaultValue, None, False)
        return self._form(form, self._params.get(name, defaultValue))

    def input(self, name: str, defaultValue: Any = "", displayName: str = "") -> Any:
        return self.textbox(name, defaultValue, displayName)

    def password(self, name: str, displayName: str = "") -> Any:
        """The value given for it, else None; Zeppelin keeps no param for a password."""
        form = form_shape("Password", name, displayName or name, "", None, False)
        return self._form(form, self._params.get(name), record=False)

    def select(
        self, name: str, options: Iterable[Any], defaultValue: Any = "", displayName: str = ""
    ) -> Any:
        opts = _options(options)
        form = form_shape("Select", name, displayName or name, defaultValue, opts, False)
        return self._form(form, self._params.get(name, defaultValue))

    def checkbox(
        self,
        name: str,
        options: Iterable[Any],
        defaultChecked: Iterable[Any] = (),
        displayName: str = "",
    ) -> Any:
        """The checked values (given, else `defaultChecked`) that are options."""
        opts = _options(options)
        default = list(defaultChecked)
        form = form_shape("CheckBox", name, displayName or name, default, opts, False)
        valid = [o["value"] for o in opts]
        checked = [v for v in self._params.get(name, default) if v in valid]
        return self._form(form, checked)

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
    def show(self, p: Any, **kwargs: Any) -> None:
        """What Zeppelin's Python `z.show` shows (`zeppelin_context.py`): `matplotlib.pyplot`
        as the current figure in an HTML `<img>` (`fmt`, `width`, `height`); a Spark
        DataFrame as Zeppelin's JVM side renders it; anything with a class named DataFrame
        in its ancestry as a `%table` (`show_index`); anything else as its `str`."""
        ancestry = type(p).mro()
        if getattr(p, "__name__", "") == "matplotlib.pyplot":
            self._show_matplotlib(p, **kwargs)
        elif any(_is_spark_frame(t) for t in ancestry) and hasattr(p, "columns"):
            self._show_spark(p)
        elif any(t.__name__ == "DataFrame" for t in ancestry):
            self._show_dataframe(p, bool(kwargs.get("show_index", False)))
        else:
            print(str(p))

    def getInterpreterContext(self) -> InterpreterContext:
        """The running paragraph's context, as Zeppelin's `InterpreterContext` has it: the
        engine sends it in the metadata of the paragraph's execute request."""
        from IPython import get_ipython

        get_parent = getattr(getattr(get_ipython(), "kernel", None), "get_parent", None)
        request = get_parent() if get_parent is not None else {}
        return InterpreterContext((request.get("metadata") or {}).get(CONTEXT_METADATA) or {})

    def _show_matplotlib(
        self, plt: Any, fmt: str = "png", width: str = "auto", height: str = "auto", **_: Any
    ) -> None:
        if fmt == "png":
            image = io.BytesIO()
            plt.savefig(image, format="png")
            data = base64.b64encode(image.getvalue().strip()).decode("ascii")
            img = f"<img src=data:image/png;base64,{data} style='width={width};height={height}'>"
        elif fmt == "svg":
            text = io.StringIO()
            plt.savefig(text, format="svg")
            img = text.getvalue()
        else:
            raise ValueError("fmt must be 'png' or 'svg'")
        print(f"%html <div style='width:{width};height:{height}'>{img}<div>")

    def _show_spark(self, df: Any) -> None:
        """As Zeppelin's JVM side renders a Spark DataFrame (`true`, `null`, `1.0E10`)."""
        if not df.columns:
            print("")
            return
        rows = df.take(self.max_result + 1)
        text = "%table " + "\t".join(_cell(c) for c in df.columns) + "\n"
        for row in rows[: self.max_result]:
            text += "\t".join(_cell(_java_string(v)) for v in row) + "\n"
        if len(rows) > self.max_result:
            text += "\n%html " + SPARK_LIMIT_ALERT.format(limit=self.max_result)
        print(text + "\n%text ")

    def _show_dataframe(self, df: Any, show_index: bool) -> None:
        """A `%table` of at most `max_result` rows printed as Zeppelin prints it: cells
        from `df.values` (so one float column makes every number of a row a float), the
        index from `df.index.values` (a datetime shows as numpy prints it), each index
        cell an `%html` cell of the table."""
        limited = len(df) > self.max_result
        header = [_cell(column) for column in df.columns]
        if show_index:
            header.insert(0, _cell("" if df.index.name is None else df.index.name))
        rows = (df.head(self.max_result) if limited else df).values
        lines = ["\t".join(header)]
        for index, row in zip(df.index.values, rows, strict=False):
            cells = [_cell(value) for value in row]
            if show_index:
                cells.insert(0, f"%html <strong>{index}</strong>")
            lines.append("\t".join(cells))
        # What Zeppelin's `print` calls write, each in one piece, so that the kernel never
        # sends a table and the newline that ends it in two messages.
        sys.stdout.write("%table " + "\n".join(lines) + "\n")
        if limited:
            notice = f"Results are limited by {self.max_result}."
            sys.stdout.write(f"\n%html <font color=red>{notice}</font>\n")


def _is_spark_frame(cls: type) -> bool:
    return cls.__name__ == "DataFrame" and cls.__module__.startswith("pyspark.sql")


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


def _colour_help(theme: str) -> None:
    """Give IPython's help (`name?`) the colours of `theme` (the engine turns colours off
    for tracebacks; Zeppelin's notes keep the ANSI codes of help)."""
    from IPython import get_ipython

    inspector = get_ipython().inspector
    if hasattr(inspector, "set_theme_name"):  # IPython 9
        inspector.set_theme_name(theme)
    elif hasattr(inspector, "set_active_scheme"):  # IPython 8
        inspector.set_active_scheme(theme)


class EngineRuntime:
    """What the engine calls in the kernel: per-paragraph setup and SQL."""

    def __init__(self, user_ns: dict[str, Any], z: ZeppelinContext, help_theme: str) -> None:
        self.user_ns = user_ns
        self.z = z
        self.help_theme: str | None = help_theme  # until help has its colours back

    def begin(self, params: Mapping[str, Any], shared: Mapping[str, Any]) -> None:
        """Before a Zeppelin paragraph: its form values, and values put by other kernels;
        help keeps its colours, as in Zeppelin (its text comes in the reply's pager
        payload, which the engine reads)."""
        self.z._params = dict(params)
        self.z._store.update(shared)
        if self.help_theme is not None:
            _colour_help(self.help_theme)
            self.help_theme = None

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
    return EngineRuntime(user_ns, z, str(get_ipython().colors))
