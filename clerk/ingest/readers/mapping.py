"""``usage/mapping.yaml``: map another system's fields to an event with no code change.

```yaml
files:
  - pattern: "heap-*.jsonl*"        # file names in usage/ (fnmatch); first rule that matches
    system: heap                    # identity becomes event:heap/<id>
    id: event_id                    # paths: "a.b" reads {"a": {"b": ...}}; CSV: column names
    subject: [account.id, user_id]  # one path or a list, best first (first that routes wins)
    type: event_name
    time: occurred_at               # ISO 8601 or epoch seconds / milliseconds
    data: properties                # a path to an object, or a list of paths; CSV: default all
                                    # other columns, JSON: default none
```

A file a rule matches is read with the rule only (no shape detection). Numeric strings in
``data`` become numbers by the same rule as every other reader.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from clerk.domain.ids import event_source_id
from clerk.ingest.events import EventError, ParsedEvent, numbers_in_data
from clerk.ingest.readers.base import ReadContext, get_path, subject_text, subjects

FILE_NAMES = ("mapping.yaml", "mapping.yml")
MAX_BYTES = 64 * 1024  # a mapping is a few lines; anything larger is not one
_SYSTEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class MappingError(ValueError):
    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class Rule:
    """One entry of the mapping file."""

    pattern: str
    system: str
    id: str
    subject: tuple[str, ...]
    type: str
    time: str
    data: str | tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        return f"mapped by usage/mapping.yaml ({self.pattern})"

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.pattern)

    def parse(
        self, obj: Any, ctx: ReadContext, csv_rest: dict[str, Any] | None = None
    ) -> ParsedEvent:
        """One record by this rule; ``csv_rest`` is a CSV row's other columns (default data)."""
        if type(obj) is not dict:
            raise EventError(f"expected a JSON object, got {type(obj).__name__}")
        ident = subject_text(get_path(obj, self.id))
        if ident is None:
            raise EventError(f"missing field {self.id!r}", self.id)
        candidates = [s for s in (subject_text(get_path(obj, p)) for p in self.subject) if s]
        kind = get_path(obj, self.type)
        if type(kind) is not str or not kind:
            raise EventError(f"missing field {self.type!r}", self.type)
        when = get_path(obj, self.time)
        if when is None or when == "":
            raise EventError(f"missing field {self.time!r}", self.time)
        return (
            event_source_id(self.system, ident),
            subjects(candidates, ", ".join(self.subject)),
            kind,
            ctx.window.event_time(when, self.time),
            numbers_in_data(self._data(obj, csv_rest)),
        )

    def _data(self, obj: dict[str, Any], csv_rest: dict[str, Any] | None) -> dict[str, Any]:
        if self.data is None:
            return dict(csv_rest) if csv_rest is not None else {}
        if isinstance(self.data, str):
            value = get_path(obj, self.data)
            if value is None:
                return {}
            if type(value) is not dict:
                raise EventError(f"{self.data}: expected an object", self.data)
            return dict(value)
        found = {p.rsplit(".", 1)[-1]: get_path(obj, p) for p in self.data}
        return {k: v for k, v in found.items() if v is not None}


def _paths(value: Any, field: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise MappingError(f"{field}: expected a field path or a list of them", field)
    return tuple(items)


def parse_rules(text: str) -> list[Rule]:
    """The rules of a mapping file's text; :class:`MappingError` names the entry at fault."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise MappingError("expected `files:` with a list of rules", "files")
    rules: list[Rule] = []
    for n, entry in enumerate(doc["files"]):
        where = f"files[{n}]"
        if not isinstance(entry, dict):
            raise MappingError(f"{where}: expected a mapping", where)
        unknown = set(entry) - {"pattern", "system", "id", "subject", "type", "time", "data"}
        if unknown:
            raise MappingError(
                f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}", where
            )
        for key in ("pattern", "system", "id", "subject", "type", "time"):
            if entry.get(key) in (None, "", []):
                raise MappingError(f"{where}.{key}: required", f"{where}.{key}")
        system = str(entry["system"])
        if not _SYSTEM.fullmatch(system):
            raise MappingError(f"{where}.system: {system!r} is not a short name", f"{where}.system")
        data = entry.get("data")
        rules.append(
            Rule(
                pattern=str(entry["pattern"]),
                system=system,
                id=_paths(entry["id"], f"{where}.id")[0],
                subject=_paths(entry["subject"], f"{where}.subject"),
                type=_paths(entry["type"], f"{where}.type")[0],
                time=_paths(entry["time"], f"{where}.time")[0],
                data=None
                if data is None
                else (data if isinstance(data, str) else _paths(data, f"{where}.data")),
            )
        )
    return rules


def mapping_file(folder: Path) -> Path | None:
    """The mapping file of a usage folder, if it has one."""
    return next((folder / n for n in FILE_NAMES if (folder / n).is_file()), None)


def load_rules(path: Path) -> list[Rule]:
    """The rules of a mapping file; :class:`MappingError` says what is wrong with it."""
    if path.stat().st_size > MAX_BYTES:
        raise MappingError(f"larger than {MAX_BYTES // 1024} KB; not a mapping file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MappingError(f"not valid UTF-8 (byte {exc.start + 1})") from None
    return parse_rules(text)


def rule_for(rules: list[Rule], name: str) -> Rule | None:
    return next((r for r in rules if r.matches(name)), None)
