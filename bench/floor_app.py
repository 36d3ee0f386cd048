"""The floor for bench/fleet.py: a bare Flask app answering the fleet mix's three requests.

No database and no validation beyond parsing the JSON body, served by the same gunicorn
settings as the real server, so the ratio measures what Smiletap adds.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

app = Flask(__name__)


@app.get("/api/v1/config")
def config() -> Response:
    """401 without a token; 304 to any If-None-Match, as an unchanged config is answered."""
    if "Authorization" not in request.headers:
        return Response(status=401)
    response = Response(status=304) if request.if_none_match else jsonify({"etag": "floor"})
    response.set_etag("floor")
    return response


@app.post("/api/v1/heartbeat")
def heartbeat() -> Response:
    """The heartbeat's answer shape."""
    request.get_json()
    return jsonify({"server_time": "2026-01-01T00:00:00Z", "config_etag": "floor"})


@app.post("/api/v1/submissions")
def submissions() -> Response:
    """One accepted result per submission."""
    body = request.get_json()
    results = [
        {"id": s["id"], "status": "accepted", "reason": None, "field": None}
        for s in body["submissions"]
    ]
    return jsonify({"server_time": "2026-01-01T00:00:00Z", "results": results})
