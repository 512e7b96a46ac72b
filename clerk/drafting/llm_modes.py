"""How to ask an OpenAI-compatible server for structured output, whatever it supports.

Servers differ in what they accept for one structured answer:

- ``json_schema``: ``response_format={"type": "json_schema", "json_schema": {...}}``, OpenAI's
  structured outputs (OpenAI, vLLM, Ollama's ``/v1``, llama.cpp's ``llama-server``);
- ``json_mode``: ``response_format={"type": "json_object", "schema": {...}}``, JSON mode with
  the schema beside it (llama-cpp-python's server turns the schema into a grammar; vLLM and
  Ollama take ``json_object`` and the schema is repeated in the prompt anyway);
- ``function_calling``: one tool whose parameters are the schema, and a ``tool_choice`` that
  names it (every server with tool calling);
- ``prompt``: nothing special on the wire; the schema is in the prompt and the answer is
  read by a lenient parser (code fences, prose around the object, trailing commas).

The drafter tries them in this order and steps down on a *capability miss*: a 400, 404, 422,
500 or 501 whose message names the feature (``response_format``, ``json_schema``, ``tools``
...). A capability miss says nothing about the server's health, so it never counts toward the
circuit breaker. Pure functions only: request bodies, error classification, parsing.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, get_args

Mode = Literal["json_schema", "json_mode", "function_calling", "prompt"]
MODES: tuple[Mode, ...] = get_args(Mode)
TOOL_NAME = "OutcomeAnswer"
PROMPT_SCHEMA_NOTE = (
    "Answer with one JSON object and nothing else (no prose, no code fence). "
    "It must follow this JSON schema:"
)

# Words in a server's error that say "I do not support this way of asking".
_CAPABILITY_RE = re.compile(
    r"response_format|json_schema|json_object|\bschema\b|\btools?\b|tool_choice|function|"
    r"grammar|structured|guided|not supported|unsupported|not implemented|"
    r"input should be 'text'|extra (?:inputs|fields) (?:are )?not permitted|unrecognized|"
    r"unknown (?:field|parameter|argument)|does not support",
    re.IGNORECASE,
)
_CAPABILITY_STATUSES = frozenset({400, 404, 405, 422, 500, 501})
# Lines of an error body that carry no cause: counts, codes, links, bare labels.
_NOISE_RE = re.compile(
    r"^(?:\d+ validation errors?(?: for \w+)?:?|error code: \d+.*|for further information.*|"
    r"https?://\S+|traceback.*|\{?|\}?|\[?|\]?)$",
    re.IGNORECASE,
)


_REPR_MSG_RE = re.compile(r"""'msg': (?:"([^"]*)"|'([^']*)')""")
_REPR_LOC_RE = re.compile(r"'loc': \(([^)]*)\)")


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without titles and descriptions: what the prompt repeats, in fewer tokens."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("title", "description")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return dict(strip(schema))


def request_body(
    mode: Mode,
    model: str,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    *,
    max_tokens: int | None,
    temperature: float | None,
) -> dict[str, Any]:
    """The ``/v1/chat/completions`` body for one structured call in ``mode``."""
    body: dict[str, Any] = {"model": model, "messages": messages}
    if max_tokens:
        body["max_tokens"] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    if mode == "json_schema":
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": TOOL_NAME, "schema": schema},
        }
    elif mode == "json_mode":
        body["response_format"] = {"type": "json_object", "schema": schema}
    elif mode == "function_calling":
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": TOOL_NAME,
                    "description": "The structured answer for one account outcome.",
                    "parameters": schema,
                },
            }
        ]
        body["tool_choice"] = {"type": "function", "function": {"name": TOOL_NAME}}
    return body


def with_schema_in_prompt(
    messages: list[dict[str, str]], schema: dict[str, Any]
) -> list[dict[str, str]]:
    """The messages with the schema appended to the last user message (json_mode, prompt)."""
    out = [dict(m) for m in messages]
    for message in reversed(out):
        if message["role"] == "user":
            shown = json.dumps(compact_schema(schema), separators=(",", ":"))
            message["content"] += f"\n\n{PROMPT_SCHEMA_NOTE}\n{shown}"
            break
    return out


def merge_system(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """System messages folded into the first user message, for servers that drop them."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system and rest and rest[0]["role"] == "user":
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    elif system:
        rest.insert(0, {"role": "user", "content": system})
    return rest


def server_message(exc: BaseException) -> str:
    """The server's own error text: ``error.message``, FastAPI's ``detail``, or the body."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        detail = body.get("detail")
        if isinstance(detail, list):
            parts = []
            for d in detail:
                if isinstance(d, dict):
                    loc = ".".join(str(x) for x in d.get("loc", []) if x != "body")
                    parts.append(f"{loc}: {d.get('msg', '')}" if loc else str(d.get("msg", "")))
            if parts:
                return "\n".join(parts)
        if detail:
            return str(detail)
    if isinstance(body, str) and body.strip():
        return body
    return str(getattr(exc, "message", "") or exc)


def cause_line(text: str) -> str:
    """The meaningful line of an error message, not its first one.

    Pydantic's "1 validation error:" and the client's "Error code: 500 - ..." say that
    something failed; the line that says what (``Input should be 'text' or 'json_object'``)
    is the one a user needs. Field path and message are joined when they sit on two lines.
    """
    text = re.sub(r"^Error code: \d+ - ", "", text.strip())
    # Pydantic errors printed as Python dicts (llama-cpp-python's 500): loc and msg.
    if m := _REPR_MSG_RE.search(text):
        loc = _REPR_LOC_RE.search(text)
        field = ""
        if loc:
            parts = [p.strip(" '\"") for p in loc.group(1).split(",")]
            field = ".".join(p for p in parts if p and p != "body")
        return f"{field}: {m.group(1) or m.group(2)}"[:200] if field else (m.group(1) or m.group(2))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not _NOISE_RE.match(ln)]
    if not useful:
        return lines[0][:200] if lines else ""
    # "response_format.type" then "  Input should be ...": keep the field with its message.
    for i, line in enumerate(useful):
        if re.search(r"\binput should\b|\bfield required\b|\bnot supported\b|\binvalid\b",
                     line, re.IGNORECASE):  # fmt: skip
            field = useful[i - 1] if i > 0 and re.fullmatch(r"[\w.\[\]-]+", useful[i - 1]) else ""
            line = re.sub(r"\s*\[type=.*$", "", line)
            return f"{field}: {line}"[:200] if field else line[:200]
    first = re.sub(r"\s*\[type=.*$", "", useful[0])
    return first[:200]


def capability_miss(exc: BaseException) -> str | None:
    """The cause when ``exc`` says the server does not support a way of asking, else None."""
    status = getattr(exc, "status_code", None)
    if status not in _CAPABILITY_STATUSES:
        return None
    message = server_message(exc)
    if not _CAPABILITY_RE.search(message):
        return None
    return cause_line(message) or f"HTTP {status}"


def next_mode(mode: Mode) -> Mode | None:
    """The mode to try after ``mode`` misses, or None after the last."""
    i = MODES.index(mode)
    return MODES[i + 1] if i + 1 < len(MODES) else None


# --- reading an answer --------------------------------------------------------------------

_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_TRAILING_COMMA_RE = re.compile(r",\s*([}\]])")


def lenient_json(text: str) -> Any:
    """The first JSON object in ``text``: code fences, prose and trailing commas tolerated.

    Raises ValueError with a one-line reason when there is none.
    """
    if not text or not text.strip():
        raise ValueError("the answer is empty")
    candidates = [m.group(1) for m in _FENCE_RE.finditer(text)] + [text]
    last_error = "no JSON object in the answer"
    for candidate in candidates:
        start = candidate.find("{")
        while start >= 0:
            chunk = _balanced(candidate, start)
            if chunk is None:
                last_error = "the JSON object is cut off (the answer ended inside it)"
                break
            for attempt in (chunk, _TRAILING_COMMA_RE.sub(r"\1", chunk)):
                try:
                    value = json.loads(attempt)
                except json.JSONDecodeError as exc:
                    last_error = f"not valid JSON: {exc.msg} at character {exc.pos}"
                    continue
                if isinstance(value, dict):
                    return value
            start = candidate.find("{", start + 1)
    raise ValueError(last_error)


def _balanced(text: str, start: int) -> str | None:
    """The ``{...}`` starting at ``start`` with its braces balanced (strings respected)."""
    depth = 0
    in_string = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def answer_payload(content: str | None, tool_arguments: str | None) -> Any:
    """The JSON value an answer carries: the named tool's arguments, else the content."""
    if tool_arguments is not None and tool_arguments.strip():
        try:
            return json.loads(tool_arguments)
        except json.JSONDecodeError:
            return lenient_json(tool_arguments)
    if tool_arguments is not None and not (content or "").strip():
        raise ValueError("the tool call has no arguments")
    return lenient_json(content or "")


def schema_max_tokens(schema: dict[str, Any], *, per_string: int = 40) -> int:
    """Tokens an answer filling ``schema`` needs: strings ``per_string``, arrays at maxItems.

    The result is the ``max_tokens`` of a call: enough for a full answer, and a bound on
    what a model that runs on (a base model repeating itself) can cost.
    """
    defs = schema.get("$defs", {})

    def size(node: dict[str, Any], depth: int = 0) -> int:
        if depth > 8:
            return per_string
        if "$ref" in node:
            return size(defs.get(node["$ref"].rsplit("/", 1)[-1], {}), depth + 1)
        if "anyOf" in node:
            return max(size(n, depth + 1) for n in node["anyOf"])
        kind = node.get("type")
        if kind == "object":
            props = node.get("properties", {})
            return 2 + sum(4 + size(p, depth + 1) for p in props.values())
        if kind == "array":
            return 2 + int(node.get("maxItems", 3)) * (1 + size(node.get("items", {}), depth + 1))
        if kind == "string":
            return per_string
        return 4

    return size(schema)
