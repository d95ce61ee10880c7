"""money and bookings under faults: captured money (late captures refundable), the Alipay
seller ID, refunds on paid records, booking idempotency keys and per-patient limits

Payments: `captured_fen`/`captured_at` record what the provider took, also after a payment had
ended; existing successful payments, and payments noted as paid late, are filled in (the late
ones become refundable by hand). Refunds may not exceed what was captured.

Appointments: a partial unique index lets an account hold a slot once. Duplicates that exist
already (a double click before this revision) are cancelled here, all but the first, as the
hospital would, and their places given back.

Revision ID: 5c1e9a7d3b42
Revises: b03c3e5a8723
Create Date: 2026-12-06 18:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "5c1e9a7d3b42"
down_revision = "b03c3e5a8723"
branch_labels = None
depends_on = None

HOLDING = "('booked', 'checked_in', 'no_show')"
LATE_PAYMENT = "paid at the provider after the payment had ended: refund it"


def upgrade():
    op.add_column("payments", sa.Column("captured_fen", sa.BigInteger(), server_default="0",
                                        nullable=False))
    op.add_column("payments", sa.Column("captured_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE payments SET captured_fen = amount_fen, captured_at = paid_at "
               "WHERE status = 'success'")
    op.execute(sa.text(
        "UPDATE payments SET captured_fen = amount_fen, captured_at = late.at "
        "FROM (SELECT payment_id, min(at) AS at FROM payment_events WHERE cause = :late "
        "GROUP BY payment_id) AS late "
        "WHERE late.payment_id = payments.id AND payments.status <> 'success'"
    ).bindparams(late=LATE_PAYMENT))
    op.drop_constraint(op.f("ck_payments_refunded"), "payments", type_="check")
    op.create_check_constraint(op.f("ck_payments_refunded"), "payments",
                               "refunded_fen >= 0 AND refunded_fen <= captured_fen")
    op.create_check_constraint(
        op.f("ck_payments_captured"), "payments",
        "captured_fen IN (0, amount_fen) AND (captured_fen = 0) = (captured_at IS NULL) "
        "AND (status <> 'success' OR captured_fen > 0)")
    op.add_column("payment_merchant", sa.Column("alipay_seller_id", sa.String(length=32)))
    for table in ("traffic_fines", "utility_bills"):
        op.add_column(table, sa.Column("refunded_fen", sa.BigInteger(), server_default="0",
                                       nullable=False))

    op.add_column("appointments", sa.Column("patient_digest", sa.String(length=64)))
    op.add_column("appointments", sa.Column("idempotency_key", sa.String(length=64)))
    op.execute(f"""
        WITH duplicates AS (
          SELECT id FROM (
            SELECT id, row_number() OVER (PARTITION BY user_id, slot_id ORDER BY id) AS n
            FROM appointments WHERE status IN {HOLDING}) AS ranked
          WHERE n > 1),
        cancelled AS (
          UPDATE appointments SET status = 'cancelled', cancelled_by = 'hospital',
                                  cancelled_at = now()
          WHERE id IN (SELECT id FROM duplicates) RETURNING slot_id)
        UPDATE appointment_slots SET booked = booked - given_back.n
        FROM (SELECT slot_id, count(*) AS n FROM cancelled GROUP BY slot_id) AS given_back
        WHERE appointment_slots.id = given_back.slot_id""")
    op.create_index("uq_appointments_citizen_slot", "appointments", ["user_id", "slot_id"],
                    unique=True, postgresql_where=sa.text(f"status IN {HOLDING}"))
    op.create_unique_constraint(op.f("uq_appointments_idempotency_key"), "appointments",
                                ["user_id", "idempotency_key"])
    op.create_index("ix_appointments_patient", "appointments", ["patient_digest", "starts_at"])
    op.create_index("ix_appointments_booked_at", "appointments", ["booked_at"])
    op.create_index("ix_appointments_moved_to", "appointments", ["moved_to_id"],
                    postgresql_where=sa.text("moved_to_id IS NOT NULL"))


def downgrade():
    op.drop_index("ix_appointments_moved_to", table_name="appointments")
    op.drop_index("ix_appointments_booked_at", table_name="appointments")
    op.drop_index("ix_appointments_patient", table_name="appointments")
    op.drop_constraint(op.f("uq_appointments_idempotency_key"), "appointments", type_="unique")
    op.drop_index("uq_appointments_citizen_slot", table_name="appointments")
    op.drop_column("appointments", "idempotency_key")
    op.drop_column("appointments", "patient_digest")
    for table in ("traffic_fines", "utility_bills"):
        op.drop_column(table, "refunded_fen")
    op.drop_column("payment_merchant", "alipay_seller_id")
    op.drop_constraint(op.f("ck_payments_captured"), "payments", type_="check")
    op.drop_constraint(op.f("ck_payments_refunded"), "payments", type_="check")
    op.create_check_constraint(op.f("ck_payments_refunded"), "payments",
                               "refunded_fen >= 0 AND refunded_fen <= amount_fen")
    op.drop_column("payments", "captured_at")
    op.drop_column("payments", "captured_fen")
