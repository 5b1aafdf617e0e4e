"""The execution time a job or a schedule asks for: the default when none, at most the maximum."""

from __future__ import annotations

import pytest

from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.time_limits import TimeLimits

LIMITS = TimeLimits(default=3600, maximum=86400)


@pytest.mark.parametrize(("requested", "granted"), [(None, 3600), (60, 60), (86400, 86400)])
def test_the_request_or_the_default(requested: int | None, granted: int) -> None:
    assert LIMITS.seconds(requested, "maximumExecutionTime") == granted


def test_more_than_the_maximum_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput, match=r"^maximumExecutionTimeInSeconds: at most 86400$"):
        LIMITS.seconds(86401, "maximumExecutionTimeInSeconds")
