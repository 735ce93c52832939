"""Review queue: moderators, sessions, item leases, decisions, audit log, clusters, thumbnails.

The audit log is append-only in the database itself: triggers refuse UPDATE and DELETE on
``audit_log`` (SQLite and PostgreSQL), so not even a bug in the application can rewrite history.

Revision ID: 0002_review_queue
Revises: 0001_initial
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_review_queue"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

ID = sa.String(128)
JSONT = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
_PG_TRIGGERS = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
)


def upgrade() -> None:
    op.create_table(
        "moderators",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_login_at", TS, nullable=True),
    )
    op.create_table(
        "moderator_sessions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("moderator_id", sa.Integer(), sa.ForeignKey("moderators.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_index("ix_moderator_sessions_moderator_id", "moderator_sessions", ["moderator_id"])
    op.create_table(
        "review_leases",
        sa.Column(
            "review_item_id",
            sa.Integer(),
            sa.ForeignKey("review_items.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("moderator_id", sa.Integer(), sa.ForeignKey("moderators.id"), nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_review_leases_moderator_id", "review_leases", ["moderator_id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(32), nullable=False),
        sa.Column(
            "review_item_id",
            sa.Integer(),
            sa.ForeignKey("review_items.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("post_id", ID, sa.ForeignKey("posts.post_id", ondelete="CASCADE"), nullable=False),
        sa.Column("moderator_id", sa.Integer(), sa.ForeignKey("moderators.id"), nullable=False),
        sa.Column("verdicts", JSONT, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("model_labels", JSONT, nullable=False),
        sa.Column("model_scores", JSONT, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("previous_status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("undone_at", TS, nullable=True),
        sa.Column("undone_by", sa.Integer(), sa.ForeignKey("moderators.id"), nullable=True),
    )
    op.create_index("ix_decisions_batch_id", "decisions", ["batch_id"])
    op.create_index("ix_decisions_review_item_id", "decisions", ["review_item_id"])
    op.create_index("ix_decisions_post_id", "decisions", ["post_id"])
    op.create_index("ix_decisions_created_at", "decisions", ["created_at"])
    op.create_index("ix_decisions_moderator_created", "decisions", ["moderator_id", "created_at"])
    op.create_table(
        "cluster_members",
        sa.Column("cluster_id", ID, primary_key=True),
        sa.Column("post_id", ID, primary_key=True),
        sa.Column("seen_at", TS, nullable=False),
    )
    op.create_index("ix_cluster_members_post_id", "cluster_members", ["post_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=True),
        sa.Column("target_id", ID, nullable=True),
        sa.Column("before", JSONT, nullable=True),
        sa.Column("after", JSONT, nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor_id"])
    op.create_index("ix_audit_log_event", "audit_log", ["event"])
    op.create_table(
        "post_images",
        sa.Column("post_id", ID, sa.ForeignKey("posts.post_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("pdq_hash", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(32), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for statement in _PG_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_table("post_images")
    op.drop_index("ix_cluster_members_post_id", table_name="cluster_members")
    op.drop_table("cluster_members")
    op.drop_index("ix_audit_log_event", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_id", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_decisions_moderator_created", table_name="decisions")
    op.drop_index("ix_decisions_created_at", table_name="decisions")
    op.drop_index("ix_decisions_post_id", table_name="decisions")
    op.drop_index("ix_decisions_review_item_id", table_name="decisions")
    op.drop_index("ix_decisions_batch_id", table_name="decisions")
    op.drop_table("decisions")
    op.drop_index("ix_review_leases_moderator_id", table_name="review_leases")
    op.drop_table("review_leases")
    op.drop_index("ix_moderator_sessions_moderator_id", table_name="moderator_sessions")
    op.drop_table("moderator_sessions")
    op.drop_table("moderators")
