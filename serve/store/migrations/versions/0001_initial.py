"""Initial schema: scored posts, the review queue, user reports, user preferences.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(128)
JSONT = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("post_id", ID, primary_key=True),
        sa.Column("author_id", ID, nullable=True),
        sa.Column("created_at", TS, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("normalized_text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("scores", JSONT, nullable=False),
        sa.Column("seller", sa.Float(), nullable=False),
        sa.Column("labels", JSONT, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reasons", JSONT, nullable=False),
        sa.Column("tricks", JSONT, nullable=False),
        sa.Column("image_hashes", JSONT, nullable=False),
        sa.Column("cluster_id", ID, nullable=True),
        sa.Column("cluster_accounts", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("scored_at", TS, nullable=False),
    )
    op.create_index("ix_posts_author_id", "posts", ["author_id"])
    op.create_index("ix_posts_action", "posts", ["action"])
    op.create_index("ix_posts_cluster_id", "posts", ["cluster_id"])

    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "post_id", ID, sa.ForeignKey("posts.post_id", ondelete="CASCADE"), nullable=False, unique=True
        ),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("reasons", JSONT, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("cluster_id", ID, nullable=True),
        sa.Column("cluster_accounts", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_review_items_status_priority", "review_items", ["status", "priority"])
    op.create_index("ix_review_items_cluster_id", "review_items", ["cluster_id"])

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("post_id", ID, sa.ForeignKey("posts.post_id", ondelete="CASCADE"), nullable=False),
        sa.Column("reporter_id", ID, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("post_id", "reporter_id", name="uq_reports_post_reporter"),
    )
    op.create_index("ix_reports_post_id", "reports", ["post_id"])

    op.create_table(
        "user_preferences",
        sa.Column("user_id", ID, primary_key=True),
        sa.Column("hide_seller_posts", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_preferences")
    op.drop_index("ix_reports_post_id", table_name="reports")
    op.drop_table("reports")
    op.drop_index("ix_review_items_cluster_id", table_name="review_items")
    op.drop_index("ix_review_items_status_priority", table_name="review_items")
    op.drop_table("review_items")
    op.drop_index("ix_posts_cluster_id", table_name="posts")
    op.drop_index("ix_posts_action", table_name="posts")
    op.drop_index("ix_posts_author_id", table_name="posts")
    op.drop_table("posts")
