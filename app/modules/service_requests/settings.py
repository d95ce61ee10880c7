"""The per-city settings of service requests. Categories, their questions and time limits,
departments and API clients are rows the console edits (admin.py), not settings."""
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate


class ServiceRequestSettings(Schema):
    anonymous_reports = fields.Boolean(
        load_default=True,
        metadata={"label": _l("Accept reports without an account"),
                  "description": _l("Who reports without signing in gives an email address "
                                    "to be told of the progress.")})
    review_api_reports = fields.Boolean(
        load_default=False,
        metadata={"label": _l("Review reports from other apps before they are published"),
                  "description": _l("Open311 apps then get a token at once and the tracking "
                                    "number once staff accept the report.")})
    api_requests_per_minute = fields.Integer(
        load_default=60, validate=validate.Range(min=1, max=10_000),
        metadata={"label": _l("Open311 calls allowed per minute and API key"),
                  "description": _l("Calls without a key count per client address.")})
    anonymous_reports_per_hour = fields.Integer(
        load_default=10, validate=validate.Range(min=1, max=1_000),
        metadata={"label": _l("Reports allowed per hour from one address without an account"),
                  "description": _l("Each one mails the address it gives: this keeps the form "
                                    "from being used to send mail to others.")})
