"""leads: an index on (event_id, id) for the rescore's batches of lead ids

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 19:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The rescore reads an event's leads a range of ids at a time: without this index a range
    # is walked through every lead id in it, other events' included.
    if op.get_context().dialect.name == "postgresql":
        # Built without blocking writes to leads (attendees keep acting during an upgrade of
        # a live server); CONCURRENTLY cannot run inside a transaction.
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_leads_event_id",
                "leads",
                ["event_id", "id"],
                unique=False,
                postgresql_concurrently=True,
                if_not_exists=True,
            )
        return
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_event_id", ["event_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_event_id")
