"""The naive-RAG baseline: retrieve top-k passages per outcome, ask a reader for the value.

This is the pipeline the clerk is measured against: LangChain runnables over a retriever of
the clerk's own index (the same passages, the same bundled MiniLM vectors), and a reader that
states the delivered value from the passages. No metric engine, no formula, no verifier, no
customer-span rules: what a quick "chat with your CS data" build would do.

Two readers: ``extractive`` takes the first number next to the outcome's unit in the top
passages; ``llm`` asks an OpenAI-compatible endpoint (in evals, the local fake server in
oracle mode) with the passages as delimited evidence. Both emit FORMATS §8 documents, so the
same scorer grades them in the same run.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel
from sqlalchemy import select

from clerk.store import Store
from clerk.store.tables import AccountRow, OutcomeRow
from evals.numwords import read_word

TOP_K = 5
_UNIT_WORDS = {
    "USD": r"(?:usd|dollars?)",
    "percent": r"(?:%|percent)",
    "people": r"(?:people|users?)",
    "ms": r"(?:ms|milliseconds?)",
}
_NUMBER = r"(?P<n>\$?\d{1,3}(?:,\d{3})+(?:\.\d+)?|\$?\d+(?:\.\d+)?|[a-z]+(?:-[a-z]+)?)"


class IndexRetriever(BaseRetriever):
    """LangChain retriever over one account's passages in the clerk's index (top ``k``)."""

    store: Any
    account_id: str
    k: int = TOP_K

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        from clerk.retrieval import search

        hits = search(self.store, self.account_id, query, k=self.k)
        return [
            Document(
                page_content=h.text,
                metadata={
                    "source": h.source_id,
                    "start": h.start,
                    "end": h.end,
                    "kind": h.kind,
                    "customer": h.customer,
                    "date": h.date.isoformat(),
                },
            )
            for h in hits
        ]


def _value(token: str) -> float | None:
    token = token.lower().lstrip("$").replace(",", "")
    try:
        return float(token)
    except ValueError:
        pass
    word = read_word(token)
    return None if word is None else float(word)


def read_number(unit: str, docs: list[Document]) -> tuple[float, Document, int, int] | None:
    """The first number followed (within two words) by ``unit`` in ``docs``, with its span."""
    word = _UNIT_WORDS.get(unit, re.escape(unit.rstrip("s")) + "s?")
    follows = re.compile(r"(?:\s+[\w-]+){0,2}?\s*" + word + r"\b", re.IGNORECASE)
    token = re.compile(_NUMBER, re.IGNORECASE)
    for doc in docs:
        text = doc.page_content
        for m in token.finditer(text):
            value = _value(m.group("n"))
            tail = follows.match(text, m.end()) if value is not None else None
            if value is not None and tail is not None:
                return value, doc, m.start(), tail.end()
    return None


def _sentence_span(text: str, start: int, end: int) -> tuple[int, int]:
    left = max(text.rfind(". ", 0, start) + 2, text.rfind("\n", 0, start) + 1, 0)
    right = min([i for i in (text.find(". ", end), text.find("\n", end)) if i >= 0] or [len(text)])
    return left, right


def _outcomes(store: Store, accounts: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {a: [] for a in accounts}
    with store.session() as session:
        rows = session.scalars(
            select(OutcomeRow)
            .where(OutcomeRow.account_id.in_(accounts))
            .order_by(OutcomeRow.account_id, OutcomeRow.position)
        ).all()
        for row in rows:
            out[row.account_id].append({"id": row.id, "title": row.title, **row.data})
        for acc in session.scalars(select(AccountRow).where(AccountRow.id.in_(accounts))):
            for o in out.get(acc.id, []):
                o["_csm"] = acc.csm
    return out


Reader = Callable[[dict[str, Any]], dict[str, Any] | None]


def _extractive_reader(inputs: dict[str, Any]) -> dict[str, Any] | None:
    """{"outcome", "docs"} -> {"delivered", "citation"} or None: the first unit-tagged number."""
    outcome, docs = inputs["outcome"], inputs["docs"]
    found = read_number(str(outcome.get("unit", "")), docs)
    if found is None:
        return None
    value, doc, start, end = found
    s, e = _sentence_span(doc.page_content, start, end)
    offset = int(doc.metadata.get("start", 0))
    return {
        "delivered": value,
        "citation": {
            "source": doc.metadata["source"],
            "quote": doc.page_content[s:e],
            "start": offset + s,
            "end": offset + e,
        },
    }


def chain(
    retriever_for: Callable[[str], BaseRetriever], reader: Reader
) -> Runnable[dict[str, Any], Any]:
    """outcome dict (with ``_account``) -> reader answer, as a LangChain runnable."""

    def retrieve(outcome: dict[str, Any]) -> list[Document]:
        query = f"{outcome['title']} {outcome.get('unit', '')}"
        return retriever_for(outcome["_account"]).invoke(query)

    return RunnableParallel(
        outcome=RunnableLambda(lambda o: o), docs=RunnableLambda(retrieve)
    ) | RunnableLambda(reader)


def _document(
    account: str,
    as_of: dt.date,
    outcomes: list[dict[str, Any]],
    answers: list[dict[str, Any] | None],
    drafted_by: str,
) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    for outcome, answer in zip(outcomes, answers, strict=True):
        oid, unit, target = outcome["id"], outcome.get("unit", ""), outcome.get("target")
        if answer is None or answer.get("delivered") is None:
            flags.append(
                {
                    "outcome": oid,
                    "kind": "no_evidence",
                    "severity": "medium",
                    "message": f"No passage states {outcome['title'].lower()}.",
                    "next_action": "Ask the customer.",
                    "risk": "Unproven value.",
                    "owner": outcome.get("_csm"),
                    "status": "open",
                }
            )
            continue
        delivered = float(answer["delivered"])
        reported = outcome.get("evidence") == "customer_reported"
        items.append(
            {
                "outcome": oid,
                "kind": "customer_statement" if reported else "calculation",
                "claim": f"{delivered:g} {unit} for {outcome['title'].lower()}.",
                "delivered": delivered,
                "target": target,
                "unit": unit,
                "citations": [answer["citation"]] if answer.get("citation") else [],
                "evidence_category": (
                    "customer_confirmed"
                    if reported
                    else "usage_proxy"
                    if outcome.get("category") == "adoption"
                    else "outcome"
                ),
                "status": "pending",
                "drafted_by": drafted_by,
            }
        )
        if isinstance(target, int | float):
            short = (
                delivered > target if outcome.get("direction") == "decrease" else delivered < target
            )
            if short:
                flags.append(
                    {
                        "outcome": oid,
                        "kind": "under_delivery",
                        "severity": "medium",
                        "message": "Short of target.",
                        "next_action": "Review.",
                        "risk": "Renewal risk.",
                        "owner": outcome.get("_csm"),
                        "status": "open",
                    }
                )
    return {
        "account": account,
        "as_of": as_of.isoformat(),
        "proof_items": items,
        "gap_flags": flags,
    }


def run_baseline(
    store: Store,
    accounts: list[str],
    as_of: dt.date,
    *,
    reader: Reader = _extractive_reader,
    drafted_by: str = "naive-rag",
    k: int = TOP_K,
) -> dict[str, dict[str, Any]]:
    """Drafts of the naive pipeline for ``accounts``, in the FORMATS §8 shape."""
    retrievers: dict[str, BaseRetriever] = {}

    def retriever_for(account: str) -> BaseRetriever:
        if account not in retrievers:
            retrievers[account] = IndexRetriever(store=store, account_id=account, k=k)
        return retrievers[account]

    pipeline = chain(retriever_for, reader)
    out: dict[str, dict[str, Any]] = {}
    for account, outcomes in _outcomes(store, accounts).items():
        batch = [{**o, "_account": account} for o in outcomes]
        answers = pipeline.batch(batch, config={"max_concurrency": 4}) if batch else []
        out[account] = _document(account, as_of, outcomes, answers, drafted_by)
    return out


def llm_reader(base_url: str, model: str = "fake-oracle") -> Reader:
    """A reader that asks an OpenAI-compatible endpoint to state the delivered value."""
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    from prompts import FACTS_CLOSE, FACTS_OPEN, evidence_block

    llm = ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=SecretStr("not-needed"),
        timeout=30,
        max_retries=2,
        temperature=0,
    )

    def read(inputs: dict[str, Any]) -> dict[str, Any] | None:
        outcome, docs = inputs["outcome"], inputs["docs"]
        facts = {
            "outcome": outcome["title"],
            "unit": outcome.get("unit"),
            "target": outcome.get("target"),
        }
        blocks = "\n".join(
            evidence_block(
                d.metadata["source"],
                d.metadata["kind"],
                d.metadata["date"][:10],
                bool(d.metadata["customer"]),
                d.page_content,
            )
            for d in docs
        )
        prompt = (
            f"State the value delivered for this outcome, with a verbatim quote.\n"
            f"{FACTS_OPEN}\n{json.dumps(facts)}\n{FACTS_CLOSE}\n{blocks}"
        )
        reply = llm.invoke([("system", "Answer in JSON."), ("user", prompt)])
        try:
            answer = json.loads(str(reply.content))
        except ValueError:
            return None
        for st in answer.get("statements") or []:
            if st.get("delivered") is None or not st.get("quotes"):
                continue
            q = st["quotes"][0]
            doc = next((d for d in docs if d.metadata["source"] == q.get("source")), None)
            pos = doc.page_content.find(q.get("quote", "")) if doc else -1
            if doc is None or pos < 0:
                return {"delivered": st["delivered"], "citation": None}
            start = int(doc.metadata.get("start", 0)) + pos
            return {
                "delivered": st["delivered"],
                "citation": {
                    "source": q["source"],
                    "quote": q["quote"],
                    "start": start,
                    "end": start + len(q["quote"]),
                },
            }
        return None

    return read


def run_baseline_llm(
    store: Store, accounts: list[str], as_of: dt.date, base_url: str
) -> dict[str, dict[str, Any]]:
    """The naive pipeline with the LLM reader against ``base_url``.

    Like the extractive reader it drafts no payback: with no engine there is no benefit per
    month to divide by, only whatever number a passage happens to state.
    """
    return run_baseline(
        store, accounts, as_of, reader=llm_reader(base_url), drafted_by="naive-rag-llm"
    )
