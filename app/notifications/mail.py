"""Sending mail. MAIL_BACKEND "outbox" (development and tests) writes each message to
instance/outbox/<city>/ and the log; "smtp" sends through MAIL_SMTP_HOST:MAIL_SMTP_PORT."""
import logging
import smtplib
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from flask import current_app, g

log = logging.getLogger(__name__)


def outbox_dir() -> Path:
    tenant = g.get("tenant")
    return Path(current_app.config["MAIL_OUTBOX_DIR"]) / (tenant.slug if tenant else "platform")


def send_mail(to: str, subject: str, body: str, message_id: str | None = None,
              name: str | None = None) -> None:
    """Send one message. `name` makes the outbox file name fixed (a resend replaces it)."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(body)
    if current_app.config["MAIL_BACKEND"] == "smtp":
        with smtplib.SMTP(current_app.config["MAIL_SMTP_HOST"],
                          current_app.config["MAIL_SMTP_PORT"], timeout=10) as smtp:
            smtp.send_message(message)
        return
    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if name is None:
        name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"
    path = folder / f"{name}.eml"
    path.write_bytes(bytes(message))
    log.info("mail to %s (%s) written to %s", to, subject, path)
