"""per-layer BN variance ratios first-class: the dropout feeding each layer, the predicted
ratio, and a row-level figure over the dropout-fed layers; final_train_loss in eval mode

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
RESULT_COLUMNS = {
    "bn_variance_ratio_dropout_fed": (
        sa.Float(),
        "Mean of population var / running var over the BN layers dropout feeds.",
    ),
    "bn_variance_ratios": (
        JSONType,
        "Population var / running var of each BN layer, in network order.",
    ),
}
LAYER_COLUMNS = {
    "dropout_p": "p of a dropout whose output is this BN's input, if any.",
    "predicted_variance_ratio": "(1 - p) / (1 + p mu^2 / sigma^2) over channels, for that dropout.",
}
TRAIN_LOSS = ("Last epoch's mean train loss.",
              "Train loss of the final model in eval mode (the split's full pass).")  # fmt: skip
SHIFT = ("Mean |median move| of that layer's inputs since init, in initial spreads.",
         "Mean |median move| of that layer's inputs since init, in input units.")  # fmt: skip


def upgrade() -> None:
    drop_view()
    with op.batch_alter_table("results", schema=None) as batch_op:
        for name, (kind, comment) in RESULT_COLUMNS.items():
            batch_op.add_column(sa.Column(name, kind, nullable=True, comment=comment))
        batch_op.alter_column("final_train_loss", existing_type=sa.Float(), comment=TRAIN_LOSS[1],
                              existing_comment=TRAIN_LOSS[0], existing_nullable=True)  # fmt: skip
    with op.batch_alter_table("bn_layer_stats", schema=None) as batch_op:
        for name, comment in LAYER_COLUMNS.items():
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=True, comment=comment))
    with op.batch_alter_table("epoch_metrics", schema=None) as batch_op:
        batch_op.alter_column("last_hidden_shift", existing_type=sa.Float(), comment=SHIFT[1],
                              existing_comment=SHIFT[0], existing_nullable=True)  # fmt: skip
    create_view("0010")


def downgrade() -> None:
    drop_view()
    with op.batch_alter_table("epoch_metrics", schema=None) as batch_op:
        batch_op.alter_column("last_hidden_shift", existing_type=sa.Float(), comment=SHIFT[0],
                              existing_comment=SHIFT[1], existing_nullable=True)  # fmt: skip
    with op.batch_alter_table("bn_layer_stats", schema=None) as batch_op:
        for name in reversed(LAYER_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.alter_column("final_train_loss", existing_type=sa.Float(), comment=TRAIN_LOSS[0],
                              existing_comment=TRAIN_LOSS[1], existing_nullable=True)  # fmt: skip
        for name in reversed(RESULT_COLUMNS):
            batch_op.drop_column(name)
    create_view("0009")
