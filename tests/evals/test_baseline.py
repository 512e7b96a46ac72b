"""The naive-RAG baseline's pieces: the number reader, the LangChain chain, the LLM reader."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from evals.baseline import _extractive_reader, chain, llm_reader, read_number
from evals.fake_openai import serve_fake_openai

SOURCE = "note:acme/2026-06-12-call.md"
TEXT = 'Preamble line.\nPriya said "we closed the June books in six days" on the call.'


class FixedRetriever(BaseRetriever):
    """Returns the same passages for any query, as the index would for a tiny account."""

    docs: list[Document]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return self.docs


def _doc(text: str, start: int, customer: bool = True) -> Document:
    return Document(
        page_content=text,
        metadata={
            "source": SOURCE,
            "start": start,
            "end": start + len(text),
            "kind": "note",
            "customer": customer,
            "date": "2026-06-12T00:00:00",
        },
    )


@pytest.mark.parametrize(
    ("unit", "text", "value"),
    [
        ("days", "we closed the books in six days", 6.0),
        ("hours", "saved 1,320 hours on approvals", 1320.0),
        ("USD", "recovered 54,000 USD this quarter", 54000.0),
        ("percent", "self-service is at 72.5 percent", 72.5),
        ("days", "no number here", None),
    ],
)
def test_read_number_takes_the_first_number_next_to_the_unit(
    unit: str, text: str, value: float | None
) -> None:
    found = read_number(unit, [_doc(text, 0)])
    assert (found[0] if found else None) == value


def test_chain_cites_the_passage_at_its_offsets_in_the_source() -> None:
    body_start = TEXT.index("Priya")
    passage = TEXT[body_start:]
    pipeline = chain(
        lambda account: FixedRetriever(docs=[_doc(passage, body_start)]), _extractive_reader
    )
    answer: Any = pipeline.invoke(
        {"_account": "acme", "id": "close_days", "title": "Days to close the books", "unit": "days"}
    )
    assert answer["delivered"] == 6.0
    cit = answer["citation"]
    assert TEXT[cit["start"] : cit["end"]] == cit["quote"]
    assert "six days" in cit["quote"]


def test_llm_reader_asks_the_local_server() -> None:
    body_start = TEXT.index("we closed")
    quote = "we closed the June books in six days"
    doc = _doc(quote, body_start)
    with serve_fake_openai() as base_url:
        read = llm_reader(base_url)
        answer = read(
            {
                "outcome": {"title": "Days to close the books", "unit": "days", "target": 6},
                "docs": [doc],
            }
        )
    assert answer is not None and answer["delivered"] == 6
    cit = answer["citation"]
    assert TEXT[cit["start"] : cit["end"]] == quote
