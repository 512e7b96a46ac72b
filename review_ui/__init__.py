"""The review UI: a FastAPI app of server-rendered pages (Jinja + htmx) and a JSON API."""

from review_ui.app import create_app

__all__ = ["create_app"]
