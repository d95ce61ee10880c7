"""service modules: appointments, passports, payments, fines and bills

Revision ID: 61fcfe7e6eb3
Revises: 377a5260fdb0
Create Date: 2026-11-28 19:37:29.589664
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '61fcfe7e6eb3'
down_revision = '377a5260fdb0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('appointment_hospitals',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('name_zh', sa.String(length=200), server_default='', nullable=False),
    sa.Column('address', sa.String(length=300), server_default='', nullable=False),
    sa.Column('phone', sa.String(length=40), server_default='', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_hospitals'))
    )
    op.create_table('payment_merchant',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('provider', sa.String(length=10), server_default='sandbox', nullable=False),
    sa.Column('expiry_minutes', sa.SmallInteger(), server_default='30', nullable=False),
    sa.Column('sandbox_merchant_key_encrypted', sa.Text(), nullable=True),
    sa.Column('sandbox_gateway_key_encrypted', sa.Text(), nullable=True),
    sa.Column('alipay_app_id', sa.String(length=32), nullable=True),
    sa.Column('alipay_private_key_encrypted', sa.Text(), nullable=True),
    sa.Column('alipay_public_key_encrypted', sa.Text(), nullable=True),
    sa.Column('alipay_gateway_url', sa.String(length=300), nullable=True),
    sa.Column('last_receipt_number', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("provider IN ('sandbox', 'alipay')", name=op.f('ck_payment_merchant_provider')),
    sa.CheckConstraint('expiry_minutes BETWEEN 1 AND 1440', name=op.f('ck_payment_merchant_expiry_minutes')),
    sa.CheckConstraint('id = 1', name=op.f('ck_payment_merchant_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_merchant'))
    )
    op.create_table('payment_sandbox_trades',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('out_trade_no', sa.String(length=64), nullable=False),
    sa.Column('trade_no', sa.String(length=64), nullable=False),
    sa.Column('total_amount', sa.String(length=20), nullable=False),
    sa.Column('trade_status', sa.String(length=20), nullable=False),
    sa.Column('refunded_amount_fen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_sandbox_trades')),
    sa.UniqueConstraint('out_trade_no', name=op.f('uq_payment_sandbox_trades_out_trade_no')),
    sa.UniqueConstraint('trade_no', name=op.f('uq_payment_sandbox_trades_trade_no'))
    )
    op.create_table('utility_accounts',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('account_number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('holder_surname', sa.String(length=40), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_utility_accounts')),
    sa.UniqueConstraint('account_number', name=op.f('uq_utility_accounts_account_number'))
    )
    op.create_table('appointment_departments',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('hospital_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('name_zh', sa.String(length=200), server_default='', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['appointment_hospitals.id'], name=op.f('fk_appointment_departments_hospital_id_appointment_hospitals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_departments'))
    )
    op.create_index(op.f('ix_appointment_departments_hospital_id'), 'appointment_departments', ['hospital_id'], unique=False)
    op.create_table('csv_imports',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), server_default='', nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.BigInteger(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('loaded', sa.Integer(), nullable=True),
    sa.Column('skipped', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_csv_imports_uploaded_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csv_imports')),
    sa.UniqueConstraint('token', name=op.f('uq_csv_imports_token'))
    )
    op.create_table('passport_applications',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=30), server_default='draft', nullable=False),
    sa.Column('full_name', sa.String(length=100), server_default='', nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('id_number', sa.String(length=18), server_default='', nullable=False),
    sa.Column('phone', sa.String(length=20), server_default='', nullable=False),
    sa.Column('passport_number', sa.String(length=20), server_default='', nullable=False),
    sa.Column('passport_expiry', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=30), server_default='', nullable=False),
    sa.Column('reason_details', sa.Text(), server_default='', nullable=False),
    sa.Column('collection_method', sa.String(length=10), nullable=True),
    sa.Column('office', sa.String(length=200), server_default='', nullable=False),
    sa.Column('delivery_address', sa.String(length=300), server_default='', nullable=False),
    sa.Column('fee_fen', sa.Integer(), server_default='0', nullable=False),
    sa.Column('payment_id', sa.BigInteger(), nullable=True),
    sa.Column('assigned_user_id', sa.BigInteger(), nullable=True),
    sa.Column('information_request', sa.Text(), server_default='', nullable=False),
    sa.Column('staff_notes', sa.Text(), server_default='', nullable=False),
    sa.Column('rejection_reason', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sla_due', sa.Date(), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("collection_method IS NULL OR collection_method IN ('office', 'delivery')", name=op.f('ck_passport_applications_collection_method')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'in_review', 'needs_information', 'approved', 'ready_for_collection', 'collected', 'rejected')", name=op.f('ck_passport_applications_status')),
    sa.CheckConstraint('fee_fen >= 0', name=op.f('ck_passport_applications_fee')),
    sa.ForeignKeyConstraint(['assigned_user_id'], ['users.id'], name=op.f('fk_passport_applications_assigned_user_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_passport_applications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passport_applications'))
    )
    op.create_index('ix_passport_applications_sla_due', 'passport_applications', ['sla_due'], unique=False, postgresql_where=sa.text("status IN ('submitted', 'in_review')"))
    op.create_index('ix_passport_applications_status', 'passport_applications', ['status', 'submitted_at'], unique=False)
    op.create_index('ix_passport_applications_submitted_at', 'passport_applications', ['submitted_at'], unique=False, postgresql_where=sa.text('submitted_at IS NOT NULL'))
    op.create_index('ix_passport_applications_user', 'passport_applications', ['user_id', 'id'], unique=False)
    op.create_index('uq_passport_applications_one_draft', 'passport_applications', ['user_id'], unique=True, postgresql_where=sa.text("status = 'draft'"))
    op.create_table('payments',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('status', sa.String(length=10), server_default='created', nullable=False),
    sa.Column('provider', sa.String(length=10), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('trade_no', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('receipt_number', sa.String(length=20), nullable=True),
    sa.CheckConstraint("(status = 'success') = (paid_at IS NOT NULL)", name=op.f('ck_payments_paid_at')),
    sa.CheckConstraint("(status = 'success') = (receipt_number IS NOT NULL)", name=op.f('ck_payments_receipt_number')),
    sa.CheckConstraint("provider IN ('sandbox', 'alipay')", name=op.f('ck_payments_provider')),
    sa.CheckConstraint("status IN ('created', 'started', 'submitted', 'success', 'failed', 'cancelled', 'expired', 'error')", name=op.f('ck_payments_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payments_amount')),
    sa.CheckConstraint('refunded_fen >= 0 AND refunded_fen <= amount_fen', name=op.f('ck_payments_refunded')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payments_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payments_idempotency_key')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_payments_receipt_number')),
    sa.UniqueConstraint('reference', name=op.f('uq_payments_reference')),
    )
    op.create_index('ix_payments_created_at', 'payments', ['created_at'], unique=False)
    op.create_index('ix_payments_unfinished_expiry', 'payments', ['expires_at'], unique=False, postgresql_where=sa.text("status IN ('created', 'started', 'submitted')"))
    op.create_index(op.f('ix_payments_user_id'), 'payments', ['user_id'], unique=False)
    op.create_table('utility_account_links',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['utility_accounts.id'], name=op.f('fk_utility_account_links_account_id_utility_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_utility_account_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_utility_account_links')),
    sa.UniqueConstraint('user_id', 'account_id', name=op.f('uq_utility_account_links_user_id'))
    )
    op.create_index(op.f('ix_utility_account_links_account_id'), 'utility_account_links', ['account_id'], unique=False)
    op.create_table('appointment_doctors',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('department_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), server_default='', nullable=False),
    sa.Column('name_zh', sa.String(length=100), server_default='', nullable=False),
    sa.Column('title', sa.String(length=100), server_default='', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['appointment_departments.id'], name=op.f('fk_appointment_doctors_department_id_appointment_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_doctors'))
    )
    op.create_index(op.f('ix_appointment_doctors_department_id'), 'appointment_doctors', ['department_id'], unique=False)
    op.create_table('passport_documents',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('application_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('original_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['passport_applications.id'], name=op.f('fk_passport_documents_application_id_passport_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passport_documents')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_passport_documents_stored_name'))
    )
    op.create_index('ix_passport_documents_application', 'passport_documents', ['application_id'], unique=False)
    op.create_table('passport_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('application_id', sa.BigInteger(), nullable=False),
    sa.Column('from_status', sa.String(length=30), nullable=False),
    sa.Column('to_status', sa.String(length=30), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('by_staff', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('message', sa.Text(), server_default='', nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_passport_events_actor_user_id_users')),
    sa.ForeignKeyConstraint(['application_id'], ['passport_applications.id'], name=op.f('fk_passport_events_application_id_passport_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passport_events'))
    )
    op.create_index('ix_passport_events_application', 'passport_events', ['application_id', 'id'], unique=False)
    op.create_table('payment_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('payment_id', sa.BigInteger(), nullable=False),
    sa.Column('from_status', sa.String(length=10), nullable=False),
    sa.Column('to_status', sa.String(length=10), nullable=False),
    sa.Column('cause', sa.String(length=200), nullable=False),
    sa.Column('message', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_events_payment_id_payments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_events'))
    )
    op.create_index(op.f('ix_payment_events_payment_id'), 'payment_events', ['payment_id'], unique=False)
    op.create_table('payment_items',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('payment_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('item_id', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('live', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payment_items_amount')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_items_payment_id_payments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_items'))
    )
    op.create_index('ix_payment_items_kind_item', 'payment_items', ['kind', 'item_id'], unique=False)
    op.create_index(op.f('ix_payment_items_payment_id'), 'payment_items', ['payment_id'], unique=False)
    op.create_index('uq_payment_items_live', 'payment_items', ['kind', 'item_id'], unique=True, postgresql_where=sa.text('live'))
    op.create_table('payment_refunds',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('payment_id', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payment_refunds_amount')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_refunds_payment_id_payments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_refunds')),
    sa.UniqueConstraint('reference', name=op.f('uq_payment_refunds_reference'))
    )
    op.create_index(op.f('ix_payment_refunds_payment_id'), 'payment_refunds', ['payment_id'], unique=False)
    op.create_table('traffic_fines',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('ticket_number', sa.String(length=40), nullable=False),
    sa.Column('plate_number', sa.String(length=10), nullable=False),
    sa.Column('offence', sa.String(length=500), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_fen', sa.BigInteger(), nullable=True),
    sa.Column('payment_id', sa.BigInteger(), nullable=True),
    sa.Column('paid_by', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_traffic_fines_amount')),
    sa.ForeignKeyConstraint(['paid_by'], ['users.id'], name=op.f('fk_traffic_fines_paid_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_traffic_fines_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_traffic_fines')),
    sa.UniqueConstraint('ticket_number', name=op.f('uq_traffic_fines_ticket_number'))
    )
    op.create_index('ix_traffic_fines_occurred', 'traffic_fines', ['occurred_at'], unique=False)
    op.create_index('ix_traffic_fines_paid_at', 'traffic_fines', ['paid_at', 'paid_fen'], unique=False, postgresql_where=sa.text('paid_at IS NOT NULL'))
    op.create_index(op.f('ix_traffic_fines_paid_by'), 'traffic_fines', ['paid_by'], unique=False)
    op.create_index('ix_traffic_fines_plate', 'traffic_fines', ['plate_number'], unique=False)
    op.create_table('utility_bills',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('bill_number', sa.String(length=40), nullable=False),
    sa.Column('account_number', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_fen', sa.BigInteger(), nullable=True),
    sa.Column('payment_id', sa.BigInteger(), nullable=True),
    sa.Column('paid_by', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_utility_bills_amount')),
    sa.ForeignKeyConstraint(['account_number'], ['utility_accounts.account_number'], name=op.f('fk_utility_bills_account_number_utility_accounts')),
    sa.ForeignKeyConstraint(['paid_by'], ['users.id'], name=op.f('fk_utility_bills_paid_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_utility_bills_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_utility_bills')),
    sa.UniqueConstraint('bill_number', name=op.f('uq_utility_bills_bill_number'))
    )
    op.create_index('ix_utility_bills_account', 'utility_bills', ['account_number', 'due_date'], unique=False)
    op.create_index('ix_utility_bills_paid_at', 'utility_bills', ['paid_at', 'paid_fen'], unique=False, postgresql_where=sa.text('paid_at IS NOT NULL'))
    op.create_index(op.f('ix_utility_bills_paid_by'), 'utility_bills', ['paid_by'], unique=False)
    op.create_table('appointment_blocks',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('department_id', sa.BigInteger(), nullable=False),
    sa.Column('doctor_id', sa.BigInteger(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=200), server_default='', nullable=False),
    sa.Column('created_by', sa.String(length=300), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['appointment_departments.id'], name=op.f('fk_appointment_blocks_department_id_appointment_departments')),
    sa.ForeignKeyConstraint(['doctor_id'], ['appointment_doctors.id'], name=op.f('fk_appointment_blocks_doctor_id_appointment_doctors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_blocks'))
    )
    op.create_index('ix_appointment_blocks_day', 'appointment_blocks', ['day'], unique=False)
    op.create_table('appointment_closures',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('hospital_id', sa.BigInteger(), nullable=False),
    sa.Column('department_id', sa.BigInteger(), nullable=True),
    sa.Column('doctor_id', sa.BigInteger(), nullable=True),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('first_day <= last_day', name=op.f('ck_appointment_closures_days')),
    sa.ForeignKeyConstraint(['department_id'], ['appointment_departments.id'], name=op.f('fk_appointment_closures_department_id_appointment_departments')),
    sa.ForeignKeyConstraint(['doctor_id'], ['appointment_doctors.id'], name=op.f('fk_appointment_closures_doctor_id_appointment_doctors')),
    sa.ForeignKeyConstraint(['hospital_id'], ['appointment_hospitals.id'], name=op.f('fk_appointment_closures_hospital_id_appointment_hospitals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_closures'))
    )
    op.create_index('ix_appointment_closures_days', 'appointment_closures', ['last_day', 'first_day'], unique=False)
    op.create_index(op.f('ix_appointment_closures_hospital_id'), 'appointment_closures', ['hospital_id'], unique=False)
    op.create_table('appointment_schedules',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('department_id', sa.BigInteger(), nullable=False),
    sa.Column('doctor_id', sa.BigInteger(), nullable=True),
    sa.Column('weekday', sa.SmallInteger(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.Column('slot_minutes', sa.SmallInteger(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.CheckConstraint('capacity BETWEEN 1 AND 1000', name=op.f('ck_appointment_schedules_capacity')),
    sa.CheckConstraint('slot_minutes BETWEEN 5 AND 240', name=op.f('ck_appointment_schedules_slot_minutes')),
    sa.CheckConstraint('start_time < end_time', name=op.f('ck_appointment_schedules_hours')),
    sa.CheckConstraint('valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to', name=op.f('ck_appointment_schedules_validity')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_appointment_schedules_weekday')),
    sa.ForeignKeyConstraint(['department_id'], ['appointment_departments.id'], name=op.f('fk_appointment_schedules_department_id_appointment_departments')),
    sa.ForeignKeyConstraint(['doctor_id'], ['appointment_doctors.id'], name=op.f('fk_appointment_schedules_doctor_id_appointment_doctors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_schedules'))
    )
    op.create_index(op.f('ix_appointment_schedules_department_id'), 'appointment_schedules', ['department_id'], unique=False)
    op.create_index(op.f('ix_appointment_schedules_doctor_id'), 'appointment_schedules', ['doctor_id'], unique=False)
    op.create_table('appointment_slots',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('schedule_id', sa.BigInteger(), nullable=False),
    sa.Column('department_id', sa.BigInteger(), nullable=False),
    sa.Column('doctor_id', sa.BigInteger(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), server_default='0', nullable=False),
    sa.Column('blocked', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint('booked >= 0 AND booked <= capacity', name=op.f('ck_appointment_slots_capacity')),
    sa.ForeignKeyConstraint(['department_id'], ['appointment_departments.id'], name=op.f('fk_appointment_slots_department_id_appointment_departments')),
    sa.ForeignKeyConstraint(['doctor_id'], ['appointment_doctors.id'], name=op.f('fk_appointment_slots_doctor_id_appointment_doctors')),
    sa.ForeignKeyConstraint(['schedule_id'], ['appointment_schedules.id'], name=op.f('fk_appointment_slots_schedule_id_appointment_schedules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_slots')),
    sa.UniqueConstraint('schedule_id', 'starts_at', name='uq_appointment_slots_start')
    )
    op.create_index('ix_appointment_slots_starts_at', 'appointment_slots', ['starts_at'], unique=False)
    op.create_table('appointments',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('reference', sa.String(length=12), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('slot_id', sa.BigInteger(), nullable=False),
    sa.Column('department_id', sa.BigInteger(), nullable=False),
    sa.Column('doctor_id', sa.BigInteger(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('patient_name', sa.String(length=100), nullable=False),
    sa.Column('id_number_encrypted', sa.Text(), nullable=False),
    sa.Column('id_number_last4', sa.String(length=4), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='booked', nullable=False),
    sa.Column('cancelled_by', sa.String(length=10), nullable=True),
    sa.Column('moved_to_id', sa.BigInteger(), nullable=True),
    sa.Column('booked_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('no_show_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('moved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("cancelled_by IS NULL OR cancelled_by IN ('citizen', 'hospital')", name=op.f('ck_appointments_cancelled_by')),
    sa.CheckConstraint("status IN ('booked', 'cancelled', 'checked_in', 'no_show', 'moved')", name=op.f('ck_appointments_status')),
    sa.ForeignKeyConstraint(['department_id'], ['appointment_departments.id'], name=op.f('fk_appointments_department_id_appointment_departments')),
    sa.ForeignKeyConstraint(['doctor_id'], ['appointment_doctors.id'], name=op.f('fk_appointments_doctor_id_appointment_doctors')),
    sa.ForeignKeyConstraint(['moved_to_id'], ['appointments.id'], name=op.f('fk_appointments_moved_to_id_appointments')),
    sa.ForeignKeyConstraint(['slot_id'], ['appointment_slots.id'], name=op.f('fk_appointments_slot_id_appointment_slots')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_appointments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments')),
    sa.UniqueConstraint('reference', name=op.f('uq_appointments_reference'))
    )
    op.create_index('ix_appointments_checked_in_at', 'appointments', ['checked_in_at'], unique=False, postgresql_where=sa.text('checked_in_at IS NOT NULL'))
    op.create_index('ix_appointments_department_day', 'appointments', ['department_id', 'starts_at'], unique=False)
    op.create_index(op.f('ix_appointments_slot_id'), 'appointments', ['slot_id'], unique=False)
    op.create_index('ix_appointments_starts_at', 'appointments', ['starts_at'], unique=False)
    op.create_index('ix_appointments_to_remind', 'appointments', ['starts_at'], unique=False, postgresql_where=sa.text("status = 'booked' AND reminded_at IS NULL"))
    op.create_index('ix_appointments_user', 'appointments', ['user_id', 'starts_at'], unique=False)
    op.add_column('branding', sa.Column('favicon_file', sa.String(length=100), nullable=True))
    op.add_column('branding', sa.Column('favicon_content_type', sa.String(length=40), nullable=True))
    op.add_column('branding', sa.Column('favicon_hash', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_users_created_at'), 'users', ['created_at'], unique=False)
    op.create_check_constraint(
        'favicon', 'branding',
        "favicon_file IS NULL OR (favicon_content_type IN ('image/png', 'image/jpeg', "
        "'image/svg+xml') AND favicon_hash IS NOT NULL)")
    # The database's guard behind the payments' transition table (app/payments/models.py
    # FINISHED_IS_FINAL_SQL; provisioning makes the same for new cities).
    op.execute("""CREATE FUNCTION payments_finished_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status IN ('success', 'failed', 'cancelled', 'expired', 'error') AND NEW.status IS DISTINCT FROM OLD.status THEN
    RAISE EXCEPTION USING MESSAGE = 'payment ' || OLD.reference || ' is finished ('
      || OLD.status || '): its status never changes';
  END IF;
  RETURN NEW;
END $$""")
    op.execute("CREATE TRIGGER payments_finished_is_final BEFORE UPDATE OF status ON payments "
               "FOR EACH ROW EXECUTE FUNCTION payments_finished_is_final()")


def downgrade():
    op.execute("DROP TRIGGER payments_finished_is_final ON payments")
    op.execute("DROP FUNCTION payments_finished_is_final()")
    op.drop_constraint('ck_branding_favicon', 'branding', type_='check')
    op.drop_index(op.f('ix_users_created_at'), table_name='users')
    op.drop_column('branding', 'favicon_hash')
    op.drop_column('branding', 'favicon_content_type')
    op.drop_column('branding', 'favicon_file')
    op.drop_index('ix_appointments_user', table_name='appointments')
    op.drop_index('ix_appointments_to_remind', table_name='appointments', postgresql_where=sa.text("status = 'booked' AND reminded_at IS NULL"))
    op.drop_index('ix_appointments_starts_at', table_name='appointments')
    op.drop_index(op.f('ix_appointments_slot_id'), table_name='appointments')
    op.drop_index('ix_appointments_department_day', table_name='appointments')
    op.drop_index('ix_appointments_checked_in_at', table_name='appointments', postgresql_where=sa.text('checked_in_at IS NOT NULL'))
    op.drop_table('appointments')
    op.drop_index('ix_appointment_slots_starts_at', table_name='appointment_slots')
    op.drop_table('appointment_slots')
    op.drop_index(op.f('ix_appointment_schedules_doctor_id'), table_name='appointment_schedules')
    op.drop_index(op.f('ix_appointment_schedules_department_id'), table_name='appointment_schedules')
    op.drop_table('appointment_schedules')
    op.drop_index(op.f('ix_appointment_closures_hospital_id'), table_name='appointment_closures')
    op.drop_index('ix_appointment_closures_days', table_name='appointment_closures')
    op.drop_table('appointment_closures')
    op.drop_index('ix_appointment_blocks_day', table_name='appointment_blocks')
    op.drop_table('appointment_blocks')
    op.drop_index(op.f('ix_utility_bills_paid_by'), table_name='utility_bills')
    op.drop_index('ix_utility_bills_paid_at', table_name='utility_bills', postgresql_where=sa.text('paid_at IS NOT NULL'))
    op.drop_index('ix_utility_bills_account', table_name='utility_bills')
    op.drop_table('utility_bills')
    op.drop_index('ix_traffic_fines_plate', table_name='traffic_fines')
    op.drop_index(op.f('ix_traffic_fines_paid_by'), table_name='traffic_fines')
    op.drop_index('ix_traffic_fines_paid_at', table_name='traffic_fines', postgresql_where=sa.text('paid_at IS NOT NULL'))
    op.drop_index('ix_traffic_fines_occurred', table_name='traffic_fines')
    op.drop_table('traffic_fines')
    op.drop_index(op.f('ix_payment_refunds_payment_id'), table_name='payment_refunds')
    op.drop_table('payment_refunds')
    op.drop_index('uq_payment_items_live', table_name='payment_items', postgresql_where=sa.text('live'))
    op.drop_index(op.f('ix_payment_items_payment_id'), table_name='payment_items')
    op.drop_index('ix_payment_items_kind_item', table_name='payment_items')
    op.drop_table('payment_items')
    op.drop_index(op.f('ix_payment_events_payment_id'), table_name='payment_events')
    op.drop_table('payment_events')
    op.drop_index('ix_passport_events_application', table_name='passport_events')
    op.drop_table('passport_events')
    op.drop_index('ix_passport_documents_application', table_name='passport_documents')
    op.drop_table('passport_documents')
    op.drop_index(op.f('ix_appointment_doctors_department_id'), table_name='appointment_doctors')
    op.drop_table('appointment_doctors')
    op.drop_index(op.f('ix_utility_account_links_account_id'), table_name='utility_account_links')
    op.drop_table('utility_account_links')
    op.drop_index(op.f('ix_payments_user_id'), table_name='payments')
    op.drop_index('ix_payments_unfinished_expiry', table_name='payments', postgresql_where=sa.text("status IN ('created', 'started', 'submitted')"))
    op.drop_index('ix_payments_created_at', table_name='payments')
    op.drop_table('payments')
    op.drop_index('uq_passport_applications_one_draft', table_name='passport_applications', postgresql_where=sa.text("status = 'draft'"))
    op.drop_index('ix_passport_applications_user', table_name='passport_applications')
    op.drop_index('ix_passport_applications_submitted_at', table_name='passport_applications', postgresql_where=sa.text('submitted_at IS NOT NULL'))
    op.drop_index('ix_passport_applications_status', table_name='passport_applications')
    op.drop_index('ix_passport_applications_sla_due', table_name='passport_applications', postgresql_where=sa.text("status IN ('submitted', 'in_review')"))
    op.drop_table('passport_applications')
    op.drop_table('csv_imports')
    op.drop_index(op.f('ix_appointment_departments_hospital_id'), table_name='appointment_departments')
    op.drop_table('appointment_departments')
    op.drop_table('utility_accounts')
    op.drop_table('payment_sandbox_trades')
    op.drop_table('payment_merchant')
    op.drop_table('appointment_hospitals')
