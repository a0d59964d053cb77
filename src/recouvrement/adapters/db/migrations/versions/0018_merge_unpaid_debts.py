"""merge: holds and escalation, payment plans, remission and write-offs, limitation, legacy stock
and audits

The branches of the unpaid-debts release meet here.

Revision ID: 0018
Revises: 0013, 0014, 0015, 0016, 0017
Create Date: 2026-12-02 16:45:00
"""

revision = "0018"
down_revision = ("0013", "0014", "0015", "0016", "0017")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
