"""job accounting: phase durations, peak memory, CPU seconds, bytes in and out

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("queued_seconds", sa.Float()),
    ("starting_seconds", sa.Float()),
    ("running_seconds", sa.Float()),
    ("saving_seconds", sa.Float()),
    ("peak_memory_bytes", sa.BigInteger()),
    ("cpu_seconds", sa.Float()),
    ("usage_source", sa.String(length=16)),
    ("bytes_in", sa.BigInteger()),
    ("bytes_out", sa.BigInteger()),
)


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
