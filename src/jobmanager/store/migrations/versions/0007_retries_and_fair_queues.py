"""retries and fair queues: job attempts, retry policies, the tenant's cap on live jobs

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-30 12:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jobmanager.store.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("max_live_jobs", sa.Integer(), nullable=True))
    with op.batch_alter_table("configurations") as batch:
        batch.add_column(sa.Column("retry", sa.JSON(), nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("retry", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("not_before", UTCDateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_jobs_queue", "jobs", ["status", "tenant_id", "configuration_id", "creation_date"]
    )
    op.create_table(
        "job_attempts",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("worker_id", sa.String(length=128), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("job_attempts")
    op.drop_index("ix_jobs_queue", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("not_before")
        batch.drop_column("attempt")
        batch.drop_column("retry")
    with op.batch_alter_table("configurations") as batch:
        batch.drop_column("retry")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("max_live_jobs")
