"""notebook facts: the kernel and language a notebook version names, and its warnings

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("payload_kernel", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("payload_language", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("payload_warnings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("payload_warnings")
        batch.drop_column("payload_language")
        batch.drop_column("payload_kernel")
