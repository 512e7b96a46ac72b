"""Drafters: the ``Drafter`` interface and the factory that picks one from settings.

``extractive`` (the default) ships in the package and needs no model or network;
``openai:<model>`` is the LLM drafter of clerk.drafting.llm.
"""

from __future__ import annotations

from clerk.domain.models import Evidence
from clerk.drafting.base import Drafter, DraftRequest, DraftResult
from clerk.settings import Settings, get_settings
from clerk.store import Store

__all__ = ["DraftRequest", "DraftResult", "Drafter", "Evidence", "get_drafter"]


def get_drafter(settings: Settings | None = None, store: Store | None = None) -> Drafter:
    """The drafter ``settings.llm`` names: ``extractive`` or ``openai:<model>``.

    ``store`` is handed to drafters that log calls or cache responses in SQL.
    """
    settings = settings or get_settings()
    choice = (settings.llm or "extractive").strip()
    if choice == "extractive":
        from clerk.drafting.extractive import ExtractiveDrafter

        return ExtractiveDrafter()
    if choice.startswith("openai:") and choice != "openai:":
        from clerk.drafting.llm import LLMDrafter

        # The sweep sets ``drafter.sweep_id`` once its sweep row exists, to tag llm_calls.
        return LLMDrafter(settings, store, method=settings.llm_method)
    raise ValueError(
        f"unknown drafter {choice!r} in CLERK_LLM: use 'extractive' or 'openai:<model>'"
    )
