"""Optional login: Streamlit's OIDC when [auth] is configured, else BNBENCH_DASHBOARD_PASSWORD.

With neither, the app is open and `bnbench dashboard` binds it to 127.0.0.1 only.
"""

from __future__ import annotations

import hmac

import streamlit as st

from core.config import env_or_file
from dashboard.auth_config import oidc_complete


def password() -> str | None:
    return env_or_file("BNBENCH_DASHBOARD_PASSWORD")


def oidc_configured() -> bool:
    """A complete [auth] section, as `bnbench dashboard` decides it before binding."""
    return oidc_complete()


def auth_enabled() -> bool:
    return bool(password()) or oidc_configured()


def _check_password() -> None:
    expected = password() or ""
    given = st.session_state.get("login_password", "")
    if hmac.compare_digest(given.encode(), expected.encode()):
        st.session_state["authenticated"] = True
        st.session_state.pop("login_error", None)
    else:
        st.session_state["login_error"] = "Wrong password."


def gate() -> bool:
    """True when the visitor may see the app; otherwise renders the login and returns False."""
    if oidc_configured():
        if st.user.is_logged_in:
            return True
        st.title("bnbench")
        st.button("Log in", on_click=st.login, type="primary")
        return False
    if not password() or st.session_state.get("authenticated"):
        return True
    st.title("bnbench")
    with st.form("login"):
        st.text_input("Password", type="password", key="login_password")
        st.form_submit_button("Log in", on_click=_check_password, type="primary")
    if err := st.session_state.get("login_error"):
        st.error(err)
    return False
