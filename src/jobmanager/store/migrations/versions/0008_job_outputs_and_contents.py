"""job outputs and contents: each job's own outputs, blobs shared by content and counted

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00.000000

Every file stored so far gets a content row of its own (its SHA-256 unknown: null, so it
is never shared) counting its one reference. Jobs that ended before this migration have
no recorded outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jobmanager.store.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contents",
        sa.Column("blob_key", sa.String(length=255), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("refs", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("blob_key"),
        sa.UniqueConstraint("tenant_id", "sha256", name="uq_contents_sha256"),
    )
    op.execute(
        "INSERT INTO contents (blob_key, tenant_id, sha256, size, refs, created_at) "
        "SELECT blob_key, MIN(tenant_id), NULL, MAX(size_in_bytes), COUNT(*), "
        "MIN(modified_date) FROM data_entries WHERE blob_key IS NOT NULL GROUP BY blob_key"
    )
    with op.batch_alter_table("data_entries") as batch:
        batch.create_index("ix_data_entries_blob_key", ["blob_key"])
        batch.create_foreign_key(
            "fk_data_entries_blob_key_contents", "contents", ["blob_key"], ["blob_key"]
        )
    op.create_table(
        "job_outputs",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("blob_key", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["blob_key"], ["contents.blob_key"]),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "path"),
    )
    op.create_index("ix_job_outputs_blob_key", "job_outputs", ["blob_key"])


def downgrade() -> None:
    op.drop_index("ix_job_outputs_blob_key", table_name="job_outputs")
    op.drop_table("job_outputs")
    with op.batch_alter_table("data_entries") as batch:
        batch.drop_constraint("fk_data_entries_blob_key_contents", type_="foreignkey")
        batch.drop_index("ix_data_entries_blob_key")
    op.drop_table("contents")
