"""The fields a list's `filter` may name, and what each holds: declared once per list.

The API parses and validates the filter over them (`api/filtering.py`, which also writes
their schemas into the OpenAPI document and names them in a 400's message), the
console's job list builds its conditions from them, and the store queries their columns:
a field's column is the table's attribute of the same name in snake_case
(`column_name`: `creationDate` is `creation_date`), so no list names its fields twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from jobmanager.domain.filters import DATETIME, STRING, FieldSpec, enum_field
from jobmanager.domain.statuses import JobStatus, ScheduleStatus

JOB_FILTER_FIELDS: Mapping[str, FieldSpec] = {
    "modelId": STRING,
    "message": STRING,
    "status": enum_field(JobStatus),
    "creationDate": DATETIME,
    "rerunOf": STRING,
    "repairOf": STRING,
    "scheduleId": STRING,
}
SCHEDULE_FILTER_FIELDS: Mapping[str, FieldSpec] = {
    "name": STRING,
    "status": enum_field(ScheduleStatus),
    "modelId": STRING,
    "scheduleString": STRING,
    "creationDate": DATETIME,
}


def column_name(field: str) -> str:
    """The store's column of a filter field: its name in snake_case."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()
