"""voting_round: definition_key, drawn at open, names the frozen definition a process keeps

An app process keeps a copy of an open round's rule and candidates so the cast need not
read them again; the cast's write checks the copy's key against the round's. Rounds opened
before this revision get a key here.

Revision ID: 10493570bca4
Revises: 243ebf419086
Create Date: 2026-11-27 17:39:43.225616

"""
from alembic import op
import sqlalchemy as sa

# Frozen copies as of this revision (voting/models/triggers.py).
FROZEN_TABLES = ("ballot", "ballot_choice", "participation")
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS trg_{t}_frozen_{o.lower()} BEFORE {o} ON {t}"
    " WHEN (SELECT status FROM voting_round WHERE id = "
    f"{'NEW' if o == 'INSERT' else 'OLD'}.round_id) IN ('closed', 'finalized')"
    f" BEGIN SELECT RAISE(ABORT, '{o} on {t} refused: the round is closed'); END"
    for t in FROZEN_TABLES
    for o in ("INSERT", "UPDATE", "DELETE")
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS trg_{t}_frozen_{o.lower()}"
    for t in FROZEN_TABLES
    for o in ("INSERT", "UPDATE", "DELETE")
]
RANDOM_KEY = {
    "postgresql": "md5(random()::text || clock_timestamp()::text || id::text)",
    "sqlite": "lower(hex(randomblob(16)))",
}


# revision identifiers, used by Alembic.
revision = '10493570bca4'
down_revision = '243ebf419086'
branch_labels = None
depends_on = None


def _sqlite(statements):
    if op.get_bind().dialect.name == "sqlite":
        for statement in statements:
            op.execute(statement)


def upgrade():
    # SQLite rebuilds voting_round to add the CHECK, and cannot rename it back into place
    # while the ballot tables' triggers name it: they are set aside and made again at the end.
    _sqlite(SQLITE_DROP)
    with op.batch_alter_table('voting_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('definition_key', sa.String(length=32), nullable=True))
    key = RANDOM_KEY[op.get_bind().dialect.name]
    op.execute(f"UPDATE voting_round SET definition_key = {key} WHERE status <> 'draft'")
    with op.batch_alter_table('voting_round', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'definition_key_iff_not_draft', "(status = 'draft') = (definition_key IS NULL)"
        )
    _sqlite(SQLITE_TRIGGERS)


def downgrade():
    _sqlite(SQLITE_DROP)
    with op.batch_alter_table('voting_round', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('ck_voting_round_definition_key_iff_not_draft'), type_='check'
        )
        batch_op.drop_column('definition_key')
    _sqlite(SQLITE_TRIGGERS)
