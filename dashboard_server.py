"""The dashboard as one ASGI app: the Streamlit pages (dashboard.py), the login routes that
set the HttpOnly session cookie, the security headers, and the Host check (smschat/web/hosts.py). `smschat up` serves it:

    uvicorn dashboard_server:app --host 127.0.0.1 --port 8501
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import streamlit
from streamlit.starlette import App

from pages._scripts import INLINE_SCRIPTS
from pages._shared import on_script_error
from smschat.web import login

ROOT = Path(__file__).resolve().parent

# Error ids and their tracebacks go to stderr, which `smschat up` passes through.
_handler = logging.StreamHandler()
_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
logging.getLogger("smschat").addHandler(_handler)
logging.getLogger("smschat").setLevel(logging.INFO)


def _streamlit_inline_scripts() -> list[str]:
    """Streamlit's index.html carries one small inline script; allow it by its hash too."""
    index = Path(streamlit.__file__).parent / "static" / "index.html"
    return re.findall(r"<script>(.*?)</script>", index.read_text(encoding="utf-8"), re.S)


CSP = login.content_security_policy([*_streamlit_inline_scripts(), *INLINE_SCRIPTS])

app = App(
    ROOT / "dashboard.py",
    routes=login.routes(),
    middleware=login.middleware(CSP),
    on_script_error=on_script_error,
)
