"""Small builders for data folders used by the ingest tests."""

from __future__ import annotations

import shutil
from pathlib import Path

ACCOUNT_YAML = """id: {id}
name: {name}
csm: csm@vendor.example
contract: {{start: 2026-01-01, renewal: {renewal}}}
zendesk_organization_id: {org}
customer_domains: [{id}.example]
"""


def copy_example(example_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of the shared example (the packaged one must stay untouched)."""
    target = tmp_path / "data"
    shutil.copytree(example_dir, target)
    return target


def add_account(
    data: Path,
    account_id: str,
    *,
    org: int = 1,
    renewal: str = "2027-06-01",
    value_case: str | None = None,
) -> Path:
    folder = data / "accounts" / account_id
    folder.mkdir(parents=True)
    (folder / "account.yaml").write_text(
        ACCOUNT_YAML.format(id=account_id, name=account_id.title(), org=org, renewal=renewal)
    )
    if value_case is not None:
        (folder / "value_case.yaml").write_text(value_case)
    return folder


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path
