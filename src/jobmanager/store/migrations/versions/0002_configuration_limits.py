"""configurations: process and disk limits

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 06:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("configurations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_processes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("disk_mib", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("configurations", schema=None) as batch_op:
        batch_op.drop_column("disk_mib")
        batch_op.drop_column("max_processes")
