"""account.yaml and value_case.yaml: parsed into Account / ValueCase, validated, stored.

A broken file names itself, the line and the field (``outcomes[3].inputs.approvers.field``)
and skips only its account; every other account is still read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from clerk.domain.formula import FormulaError, dependency_order, parse
from clerk.domain.models import ACCOUNT_ID_RE, OUTCOME_ID_RE, Account, ValueCase
from clerk.ingest.report import Reject
from clerk.ingest.sanity import value_case_problems
from clerk.ingest.yaml_budget import YamlBudgetError, check_budget, check_text
from clerk.store.rows import value_case_to_rows
from clerk.store.tables import AccountRow, OutcomeRow, SubjectRow, ValueCaseRow, utcnow

Path_ = list[str | int]  # a location inside a YAML document: keys and list indexes

try:  # libyaml is ~10x faster, but PyYAML works without it
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass
class AccountFolder:
    """A validated account folder, ready to store."""

    account: Account
    value_case: ValueCase | None
    folder: Path


class YamlDoc:
    """A parsed YAML file that can tell the line of any key path, for error messages."""

    def __init__(self, text: str) -> None:
        check_text(text)
        try:
            self.node = yaml.compose(text, Loader=_Loader)
            check_budget(self.node)  # before load, which would expand every alias
            self.data: Any = yaml.load(text, Loader=_Loader)
        except RecursionError:
            raise YamlBudgetError("values are nested too deeply") from None

    def line_of(self, path: Path_) -> int | None:
        node = self.node
        line = node.start_mark.line + 1 if node is not None else None
        for step in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == str(step):
                        child = value
                        line = key.start_mark.line + 1
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(step, int)
                and 0 <= step < len(node.value)
            ):
                child = node.value[step]
                line = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return line


def format_path(path: Path_) -> str:
    """``["outcomes", 2, "inputs", "x"]`` -> ``outcomes[2].inputs.x``."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _hash(payload: Any) -> str:
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _read_yaml(path: Path, rel: str) -> tuple[YamlDoc | None, list[Reject]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Reject("accounts", rel, None, f"not valid UTF-8 ({exc.reason})")]
    try:
        doc = YamlDoc(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [Reject("accounts", rel, line, f"not valid YAML: {problem}")]
    if not isinstance(doc.data, dict):
        return None, [Reject("accounts", rel, 1, "expected a mapping of fields at the top")]
    return doc, []


def _pydantic_rejects(
    exc: ValidationError, doc: YamlDoc, rel: str, translate: Any = None
) -> list[Reject]:
    out = []
    for error in exc.errors():
        path: Path_ = list(error["loc"])
        if translate is not None:
            path = translate(path)
        where = format_path(path)
        message = error["msg"]
        if error["type"] == "missing":
            message = "required field is missing"
        out.append(Reject("accounts", rel, doc.line_of(path), f"{where}: {message}", where))
    return out


def load_account(folder: Path, rel_folder: str) -> tuple[AccountFolder | None, list[Reject]]:
    """Read and check ``account.yaml`` and ``value_case.yaml`` of one account folder."""
    rel = f"{rel_folder}/account.yaml"
    if not ACCOUNT_ID_RE.match(folder.name):
        reason = f"folder name {folder.name!r} is not an account id ([a-z0-9][a-z0-9_-]{{0,63}})"
        return None, [Reject("accounts", rel_folder, None, reason, "id")]
    if not (folder / "account.yaml").is_file():
        return None, [Reject("accounts", rel, None, "account.yaml is missing", None)]
    doc, rejects = _read_yaml(folder / "account.yaml", rel)
    if doc is None:
        return None, rejects
    try:
        account = Account.model_validate(doc.data)
    except ValidationError as exc:
        return None, _pydantic_rejects(exc, doc, rel)
    if account.id != folder.name:
        reason = f"id: {account.id!r} must equal the folder name {folder.name!r}"
        return None, [Reject("accounts", rel, doc.line_of(["id"]), reason, "id")]

    value_case = None
    if (folder / "value_case.yaml").is_file():
        value_case, rejects = load_value_case(
            folder / "value_case.yaml", f"{rel_folder}/value_case.yaml", account.id
        )
        if value_case is None:
            return None, rejects
    return AccountFolder(account, value_case, folder), []


def _inputs_as_list(raw: Any) -> Any:
    """YAML writes inputs as a mapping name -> spec; the model keeps a list with ``name``."""
    if not isinstance(raw, dict):
        return raw
    out = []
    for name, spec in raw.items():
        if isinstance(spec, int | float) and not isinstance(spec, bool):
            spec = {"assumption": spec}  # `rate: 45` is shorthand for an assumption
        out.append({**spec, "name": str(name)} if isinstance(spec, dict) else spec)
    return out


def load_value_case(path: Path, rel: str, account_id: str) -> tuple[ValueCase | None, list[Reject]]:
    """Parse ``value_case.yaml`` into a :class:`ValueCase`, or say what is wrong with it."""
    doc, rejects = _read_yaml(path, rel)
    if doc is None:
        return None, rejects
    data = dict(doc.data)
    outcomes = data.get("outcomes") or []
    names: dict[int, list[str]] = {}
    if isinstance(outcomes, list):
        converted = []
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, dict) and isinstance(outcome.get("inputs"), dict):
                names[i] = [str(n) for n in outcome["inputs"]]
                outcome = {**outcome, "inputs": _inputs_as_list(outcome["inputs"])}
            converted.append(outcome)
        data["outcomes"] = converted
    data["account_id"] = account_id

    def translate(loc: Path_) -> Path_:
        # outcomes.2.inputs.0.aggregation -> outcomes[2].inputs.<name>.aggregation
        if len(loc) >= 4 and loc[0] == "outcomes" and loc[2] == "inputs":
            i, j = loc[1], loc[3]
            if isinstance(i, int) and isinstance(j, int) and j < len(names.get(i, [])):
                return [*loc[:3], names[i][j], *loc[4:]]
        return loc

    try:
        value_case = ValueCase.model_validate(data)
    except ValidationError as exc:
        return None, _pydantic_rejects(exc, doc, rel, translate)
    problems = check_value_case(value_case)
    if problems:
        return None, [
            Reject("accounts", rel, doc.line_of(p), f"{format_path(p)}: {msg}", format_path(p))
            for p, msg in problems
        ]
    for outcome in value_case.outcomes:
        for item in outcome.inputs:
            if item.kind == "metric" and item.aggregation is None:
                item.aggregation = "count"  # stored explicitly so readers need no default
    return value_case, []


MAX_ALIASES = 20
MAX_ALIAS_CHARS = 120


def _alias_problems(aliases: list[str], at: Path_, label: str) -> list[tuple[Path_, str]]:
    """``aliases:``: non-empty phrases of at most 120 characters, at most 20, no repeats."""
    problems: list[tuple[Path_, str]] = []
    if len(aliases) > MAX_ALIASES:
        problems.append((at, f"{label} has {len(aliases)} aliases; at most {MAX_ALIASES}"))
    seen: set[str] = set()
    for j, alias in enumerate(aliases):
        where: Path_ = [*at, j]
        key = " ".join(alias.split()).lower()
        if not key:
            problems.append((where, f"{label}: alias {j + 1} is empty"))
        elif len(alias) > MAX_ALIAS_CHARS:
            problems.append(
                (where, f"{label}: alias {j + 1} is longer than {MAX_ALIAS_CHARS} characters")
            )
        elif key in seen:
            problems.append((where, f"{label}: alias {alias!r} is given twice"))
        seen.add(key)
    return problems


def check_value_case(value_case: ValueCase) -> list[tuple[Path_, str]]:
    """The rules pydantic cannot check alone; each problem is (YAML path, message)."""
    problems: list[tuple[Path_, str]] = []
    ids = [o.id for o in value_case.outcomes]
    seen: set[str] = set()
    references: dict[str, list[str]] = {}
    for i, outcome in enumerate(value_case.outcomes):
        at: Path_ = ["outcomes", i]
        label = f"outcome {outcome.id}"
        if not OUTCOME_ID_RE.match(outcome.id):
            problems.append(([*at, "id"], f"{outcome.id!r} must match [a-z0-9_]+"))
        if outcome.id in seen:
            problems.append(([*at, "id"], f"{label} is defined twice"))
        seen.add(outcome.id)
        problems += _alias_problems(outcome.aliases, [*at, "aliases"], label)
        if outcome.evidence == "customer_reported":
            if outcome.formula:
                problems.append(
                    ([*at, "formula"], f"{label} is customer_reported and cannot have a formula")
                )
            continue
        if not outcome.formula:
            problems.append(
                ([*at, "formula"], f"{label} needs a formula (or evidence: customer_reported)")
            )
            continue
        try:
            formula = parse(outcome.formula)
        except FormulaError as exc:
            problems.append(([*at, "formula"], f"{label}: {exc} (token {exc.token!r})"))
            continue
        declared = {item.name for item in outcome.inputs}
        for name in formula.names:
            if name not in declared:
                message = f"{label}: {name!r} is used in the formula but not declared in inputs"
                problems.append(([*at, "formula"], message))
        refs = []
        for item in outcome.inputs:
            where: Path_ = [*at, "inputs", item.name]
            kinds = [k for k in ("metric", "assumption", "outcome") if getattr(item, k) is not None]
            if item.label is not None and not (0 < len(item.label.strip()) <= 120):
                message = f"{label}: input {item.name!r} label must be 1 to 120 characters"
                problems.append(([*where, "label"], message))
            if len(kinds) != 1:
                message = f"{label}: input {item.name!r} needs exactly one of metric, assumption, "
                message += f"outcome (has {', '.join(kinds) or 'none'})"
                problems.append((where, message))
                continue
            if item.kind == "metric":
                aggregation = item.aggregation or "count"
                if aggregation != "count" and not item.field:
                    message = f"{label}: aggregation {aggregation} needs field"
                    problems.append(([*where, "field"], message))
            elif item.kind == "outcome":
                if item.outcome not in ids:
                    message = f"{label}: references outcome {item.outcome!r}, which does not exist"
                    problems.append(([*where, "outcome"], message))
                else:
                    refs.append(str(item.outcome))
        references[outcome.id] = refs
    try:
        dependency_order(references)
    except FormulaError as exc:
        problems.append((["outcomes"], str(exc)))
    if value_case.payback is not None and value_case.payback.benefit not in ids:
        message = f"benefit {value_case.payback.benefit!r} names no outcome of this value case"
        problems.append((["payback", "benefit"], message))
    return problems + value_case_problems(value_case)


def routing_conflicts(session: Session, account: Account, rel: str) -> list[Reject]:
    """Subjects or a Zendesk organization that already route to another account."""
    rejects = []
    taken = session.execute(
        select(SubjectRow.subject, SubjectRow.account_id).where(
            SubjectRow.subject.in_(account.usage_subjects), SubjectRow.account_id != account.id
        )
    ).all()
    for subject, other in taken:
        reason = f"usage_subjects: subject {subject!r} already routes to account {other!r}"
        rejects.append(Reject("accounts", rel, None, reason, "usage_subjects"))
    if account.zendesk_organization_id is not None:
        other_org = session.scalar(
            select(AccountRow.id).where(
                AccountRow.zendesk_organization_id == account.zendesk_organization_id,
                AccountRow.id != account.id,
            )
        )
        if other_org:
            reason = (
                f"zendesk_organization_id: {account.zendesk_organization_id} already routes to "
                f"account {other_org!r}"
            )
            rejects.append(Reject("accounts", rel, None, reason, "zendesk_organization_id"))
    return rejects


def store_account(session: Session, loaded: AccountFolder) -> str:
    """Insert or update one account and its value case. Returns new | updated | unchanged."""
    account, value_case = loaded.account, loaded.value_case
    data = account.model_dump(mode="json")
    account_hash = _hash(data)
    row = session.get(AccountRow, account.id)
    status = "unchanged"
    if row is None:
        row = AccountRow(id=account.id, evidence_version=0)
        session.add(row)
        status = "new"
    if status == "new" or row.content_hash != account_hash:
        row.name = account.name
        row.csm = account.csm
        row.renewal = account.contract.renewal
        row.zendesk_organization_id = account.zendesk_organization_id
        row.data = data
        row.content_hash = account_hash
        row.updated_at = utcnow()
        session.flush()
        session.execute(delete(SubjectRow).where(SubjectRow.account_id == account.id))
        session.add_all(
            SubjectRow(subject=s, account_id=account.id) for s in account.usage_subjects
        )
        status = "new" if status == "new" else "updated"
    if value_case is not None and _store_value_case(session, value_case) and status == "unchanged":
        status = "updated"
    session.flush()
    return status


def _store_value_case(session: Session, value_case: ValueCase) -> bool:
    # The hash covers the whole value case (outcomes included): it says when anything changed.
    digest = _hash(value_case.model_dump(mode="json"))
    row = session.get(ValueCaseRow, value_case.account_id)
    if row is not None and row.content_hash == digest:
        return False
    if row is None:
        row = ValueCaseRow(account_id=value_case.account_id)
        session.add(row)
    data, outcome_rows = value_case_to_rows(value_case)
    row.source = value_case.source
    row.data = data
    row.content_hash = digest
    row.updated_at = utcnow()
    # Outcomes are replaced whole: the value case is the unit that changes.
    session.execute(delete(OutcomeRow).where(OutcomeRow.account_id == value_case.account_id))
    session.add_all(outcome_rows)
    return True
