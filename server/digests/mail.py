"""A digest as a mail: multipart/alternative with a plain-text part and an HTML part, the
HTML part multipart/related with the chart as an inline PNG its `<img src="cid:…">` names."""

from __future__ import annotations

from email.message import EmailMessage

from server.digests.render import CHART_CID, Written


def compose(written: Written, chart_png: bytes, sender: str, to: str) -> EmailMessage:
    """The mail for one recipient."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = written.subject
    message.set_content(written.text)
    message.add_alternative(written.html, subtype="html")
    html_part = message.get_body(("html",))
    assert isinstance(html_part, EmailMessage)  # the part add_alternative just made
    html_part.add_related(
        chart_png,
        maintype="image",
        subtype="png",
        cid=f"<{CHART_CID}>",
        disposition="inline",
        filename="chart.png",
    )
    return message
