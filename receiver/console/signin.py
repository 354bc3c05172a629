"""Signing in with the admin token, and out."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

import structlog
from flask import Blueprint, current_app, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from receiver.console.context import settings
from receiver.console.forms import FormState
from receiver.console.htmx import redirect_to, render
from receiver.console.sessions import (
    end_session,
    is_signed_in,
    session_interface,
    start_signed_in_session,
)

blueprint = Blueprint("auth", __name__)
log = structlog.get_logger("crossdock.receiver.console")


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response:
    """The sign-in form; the page saying the console is off when it is."""
    missing = _missing_settings()
    if missing:
        return render("console/off.html", missing=missing,
                      status=200 if request.method == "GET" else 403)
    target = _local_target(request.values.get("next"))
    if request.method == "GET":
        if is_signed_in():
            return redirect(target, code=303)
        return render("console/sign_in.html", form=FormState(), next=target)
    token = request.form.get("token", "")
    if not _is_admin_token(token):
        log.warning("console: sign-in refused", remote=request.remote_addr)
        form = FormState()
        form.add_error("token", "This is not the admin token." if token
                       else "Enter the admin token.")
        return render("console/sign_in.html", form=form, next=target, status=401)
    start_signed_in_session()
    log.info("console: signed in", remote=request.remote_addr)
    flash("Signed in.", "success")
    return redirect(target, code=303)


@blueprint.post("/sign-out")
def sign_out() -> Response:
    end_session()
    flash("Signed out.", "success")
    return redirect_to(url_for("console.auth.sign_in"))


def _is_admin_token(token: str) -> bool:
    """Constant time, like the API's bearer check."""
    admin = settings().admin_token
    return bool(token) and hmac.compare_digest(token.strip().encode(), admin.encode())


def _missing_settings() -> list[str]:
    """The settings the console needs that are not set."""
    missing = []
    if not settings().admin_token:
        missing.append("CROSSDOCK_ADMIN_TOKEN")
    if not session_interface(current_app).available:
        missing.append("CROSSDOCK_SECRET_KEY")
    return missing


def _local_target(value: str | None) -> str:
    """Where to go after signing in: a console path from ``next``, never another site."""
    home = url_for("console.home")
    if not value or not value.startswith(home) or "\\" in value:
        return home
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return home
    return value
