"""sealed webhook secrets and sign-in failure counters

Webhook secrets are kept sealed (`auth/sealing.py`), longer than the secrets they hold:
the column becomes text. The sealing itself needs the key kept beside the signing keys,
which a migration does not see: the service seals the secrets stored before at start
(`WebhookRepository.seal_plain_secrets`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jobmanager.store.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(length=255), type_=sa.Text(), existing_nullable=False
        )
    op.create_table(
        "sign_in_failures",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("window_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_sign_in_failures_window_start", "sign_in_failures", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_window_start", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    with op.batch_alter_table("webhooks") as batch:
        batch.alter_column(
            "secret", existing_type=sa.Text(), type_=sa.String(length=255), existing_nullable=False
        )
