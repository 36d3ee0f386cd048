"""Sending a mail through the configured SMTP server (`SMILETAP_SMTP_*`)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from server.settings import Settings


def send(settings: Settings, message: EmailMessage) -> None:
    """Send one message (From set here), with STARTTLS and a login when configured."""
    if "From" not in message:
        message["From"] = settings.smtp_from
    timeout = settings.alert_delivery_timeout_s
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.smtp_tls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)
