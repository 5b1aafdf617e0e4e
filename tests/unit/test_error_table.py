"""The one table of error answers: every kind of domain error has a status, every status a code."""

from __future__ import annotations

from jobmanager.api.errors import CODE_OF_STATUS, STATUS_OF
from jobmanager.domain.errors import DomainError


def test_every_domain_error_kind_answers_a_status_that_has_a_code() -> None:
    assert set(DomainError.__subclasses__()) == set(STATUS_OF)
    assert all(status in CODE_OF_STATUS for status in STATUS_OF.values())


def test_codes_are_unique() -> None:
    assert len(set(CODE_OF_STATUS.values())) == len(CODE_OF_STATUS)
