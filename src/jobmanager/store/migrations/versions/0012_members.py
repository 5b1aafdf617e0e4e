"""members: the API replicas and workers that say they are alive, with a replica's
signing key id and public URL

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 20:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jobmanager.store.types import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("public_url", sa.String(1024), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_members_seen_at", "members", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_members_seen_at", table_name="members")
    op.drop_table("members")
