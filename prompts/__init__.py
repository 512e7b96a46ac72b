"""Prompt templates as files, and the loader that checks them at start-up.

Each prompt is one ``<name>.md`` file in this folder, written as a ``string.Template``
(``$name`` or ``${name}``, ``$$`` for a literal dollar sign). ``PROMPT_VARIABLES`` declares
the variables each prompt takes. Loading fails loudly when a declared prompt file is
missing, when a file uses a variable it does not declare (unknown) or omits one it declares
(missing), and rendering fails when the caller passes a different set of variables. So a
typo in a prompt or in the code stops the drafter at construction, not halfway through a
sweep with half the outcomes drafted from a broken prompt.

The fixed phrases the code relies on (the evidence and facts delimiters) are constants here,
shared by the drafter that writes them, the fake OpenAI server that reads them back, and
the tests.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

__all__ = [
    "EVIDENCE_CLOSE",
    "EVIDENCE_RE",
    "FACTS_CLOSE",
    "FACTS_OPEN",
    "FACTS_RE",
    "NO_EVIDENCE",
    "PROMPT_DIR",
    "PROMPT_VARIABLES",
    "Prompt",
    "PromptError",
    "evidence_block",
    "get_prompts",
    "load_prompts",
]

PROMPT_DIR = Path(__file__).parent

# The contract between the code and the prompt files: every prompt and the variables it takes.
PROMPT_VARIABLES: dict[str, frozenset[str]] = {
    "system": frozenset(),
    "outcome": frozenset(
        {
            "account_name",
            "outcome_title",
            "outcome_id",
            "period_label",
            "facts",
            "tasks",
            "evidence",
        }
    ),
    "task_claim": frozenset({"unit"}),
    "task_no_claim": frozenset(),
    "task_statements": frozenset({"outcome_title", "unit"}),
    "task_signals": frozenset({"outcome_title"}),
    "repair": frozenset({"error", "previous_answer"}),
}

# Delimiters of the data blocks in the outcome prompt. The system prompt names them too, so
# the model is told that what lies between them is data, never instructions.
EVIDENCE_OPEN = '<evidence id="{source_id}" kind="{kind}" date="{date}" customer="{customer}">'
EVIDENCE_CLOSE = "</evidence>"
EVIDENCE_RE = re.compile(
    r'<evidence id="(?P<source_id>[^"]*)" kind="(?P<kind>[^"]*)" date="(?P<date>[^"]*)" '
    r'customer="(?P<customer>true|false)">\n(?P<text>.*?)\n</evidence>',
    re.DOTALL,
)
FACTS_OPEN = "<facts>"
FACTS_CLOSE = "</facts>"
FACTS_RE = re.compile(r"<facts>\n(?P<facts>.*?)\n</facts>", re.DOTALL)
NO_EVIDENCE = "(no evidence passages were found for this outcome)"

# A passage that contains one of our own tags could close its block early and smuggle text
# out of the data section; such tags are defused (the passage is then never quoted verbatim).
_TAG_RE = re.compile(r"<\s*/?\s*(evidence|facts)\b", re.IGNORECASE)
# Chat-template control tokens (ChatML's <|im_start|>, Llama's [INST] and <<SYS>>): some model
# servers read them in user text as real turn boundaries. A zero-width joiner inside breaks
# the token and leaves the text readable.
_CHAT_TOKEN_RE = re.compile(r"<\||\|>|\[/?INST\]|<</?SYS>>", re.IGNORECASE)


class PromptError(RuntimeError):
    """A prompt file is missing, or its variables differ from what the code passes."""


@dataclass(frozen=True)
class Prompt:
    """One prompt file, checked against its declared variables."""

    name: str
    template: Template
    variables: frozenset[str]

    def render(self, **values: object) -> str:
        """Fill the template; any missing or unexpected variable is an error, not a blank."""
        given = frozenset(values)
        if given != self.variables:
            missing = sorted(self.variables - given)
            unknown = sorted(given - self.variables)
            raise PromptError(
                f"prompt {self.name!r}: missing variables {missing}, unknown variables {unknown}"
            )
        return self.template.substitute({k: str(v) for k, v in values.items()})


def load_prompts(directory: Path = PROMPT_DIR) -> dict[str, Prompt]:
    """Read and check every prompt in ``PROMPT_VARIABLES`` from ``directory``.

    Raises PromptError naming the file and the offending variables.
    """
    prompts: dict[str, Prompt] = {}
    problems: list[str] = []
    for name, declared in PROMPT_VARIABLES.items():
        path = directory / f"{name}.md"
        if not path.is_file():
            problems.append(f"{path}: prompt file is missing")
            continue
        template = Template(path.read_text(encoding="utf-8"))
        if not template.is_valid():
            problems.append(f"{path}: has a malformed placeholder (use $$ for a dollar sign)")
            continue
        used = frozenset(template.get_identifiers())
        if unknown := sorted(used - declared):
            problems.append(f"{path}: unknown variables {unknown} (declared: {sorted(declared)})")
        if missing := sorted(declared - used):
            problems.append(f"{path}: missing variables {missing}")
        prompts[name] = Prompt(name, template, declared)
    if problems:
        raise PromptError("invalid prompts:\n  " + "\n  ".join(problems))
    return prompts


@lru_cache
def get_prompts() -> dict[str, Prompt]:
    """The bundled prompts, loaded and checked once per process."""
    return load_prompts(PROMPT_DIR)


def evidence_block(source_id: str, kind: str, date: str, customer: bool, text: str) -> str:
    """One passage as a delimited data block, in the form ``EVIDENCE_RE`` reads back."""
    safe_text = _TAG_RE.sub(lambda m: "&lt;" + m.group(0)[1:], text)
    safe_text = _CHAT_TOKEN_RE.sub(lambda m: m.group(0)[0] + "\u200d" + m.group(0)[1:], safe_text)
    opening = EVIDENCE_OPEN.format(
        source_id=html.escape(source_id, quote=True),
        kind=html.escape(kind, quote=True),
        date=html.escape(date, quote=True),
        customer="true" if customer else "false",
    )
    return f"{opening}\n{safe_text}\n{EVIDENCE_CLOSE}"
