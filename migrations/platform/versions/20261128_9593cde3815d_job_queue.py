"""job queue

Revision ID: 9593cde3815d
Revises: 77fe60bfbb59
Create Date: 2026-11-28 17:01:45.848831
"""
from alembic import op


revision = '9593cde3815d'
down_revision = '77fe60bfbb59'
branch_labels = None
depends_on = None


# The only job a city's own transaction may queue: delivery of that city's notifications.
# SECURITY DEFINER (it runs as the owner of the job queue); any caller may run it, since all
# it can do is ask that an existing city's pending notifications be sent.
REQUEST_DELIVERY = """
CREATE FUNCTION platform_api.request_delivery(city text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = jobs, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM platform.tenants WHERE slug = city) THEN
        RAISE EXCEPTION 'no city %', city;
    END IF;
    PERFORM procrastinate_defer_jobs_v1(ARRAY[ROW(
        'notifications', 'notifications.deliver', 0, NULL, 'deliver:' || city,
        jsonb_build_object('city', city), NULL
    )::procrastinate_job_to_defer_v1]);
EXCEPTION WHEN unique_violation THEN
    NULL;  -- a delivery for this city is already waiting: it will send this one too
END $$
"""


def upgrade():
    from procrastinate.schema import SchemaManager

    op.execute("CREATE SCHEMA IF NOT EXISTS jobs")
    op.execute("SET LOCAL search_path TO jobs")
    # procrastinate's schema as the installed version ships it ('%' doubled: psycopg format)
    op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
    op.execute("SET LOCAL search_path TO DEFAULT")
    op.execute("CREATE SCHEMA platform_api")
    op.execute("GRANT USAGE ON SCHEMA platform_api TO PUBLIC")
    op.execute(REQUEST_DELIVERY)


def downgrade():
    op.execute("DROP SCHEMA platform_api CASCADE")
    op.execute("DROP SCHEMA jobs CASCADE")
