"""Fixtures of the webhook tests: a real HTTP receiver on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver().start()
    yield made
    made.stop()
