"""Who is the customer on a ticket, and which account a ticket belongs to.

Routing: a ticket's ``organization_id`` names the account (``zendesk_organization_id``); a
ticket without one routes by its requester's email domain (``customer_domains``), when the
requester is among the users read (side-loaded or streamed).

Customer participants: besides the requester, a user is the customer on a ticket when known as
an ``end-user`` of the ticket's organization (or of the account's), or when their email domain
is one of the account's ``customer_domains``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clerk.domain.models import Account
from clerk.ingest.notes import customer_domain
from clerk.ingest.tickets import organization_of


@dataclass
class Accounts:
    """The accounts tickets can route to: by Zendesk organization and by email domain."""

    by_org: dict[int, Account] = field(default_factory=dict)
    all: list[Account] = field(default_factory=list)

    @classmethod
    def of(cls, accounts: Iterable[Account]) -> Accounts:
        found = cls()
        for account in accounts:
            found.all.append(account)
            if account.zendesk_organization_id is not None:
                found.by_org[account.zendesk_organization_id] = account
        return found


def _org(value: Any) -> int | None:
    return organization_of({"organization_id": value})


def email_of(user: Mapping[str, Any] | None) -> str | None:
    email = user.get("email") if user else None
    return email if isinstance(email, str) and "@" in email else None


def route(
    ticket: dict[str, Any], accounts: Accounts, users: Mapping[str, dict[str, Any]]
) -> tuple[Account | None, str]:
    """(the ticket's account, or None with the reason it routes to none)."""
    org = organization_of(ticket)
    if org is not None:
        account = accounts.by_org.get(org)
        if account is not None:
            return account, ""
        return None, (
            f"organization_id {ticket.get('organization_id')!r} routes to no account "
            "(set zendesk_organization_id in account.yaml)"
        )
    requester = ticket.get("requester_id")
    email = email_of(users.get(str(requester))) if requester is not None else None
    if email is None:
        return None, (
            f"no organization_id, and requester {requester!r} is in no users file or "
            "side-load, so the email domain cannot route it either"
        )
    matches = [a for a in accounts.all if customer_domain(email, a)]
    if len(matches) == 1:
        return matches[0], ""
    domain = email.rsplit("@", 1)[1]
    if not matches:
        return None, (
            f"no organization_id, and the requester's email domain {domain} is in no "
            "account's customer_domains"
        )
    names = ", ".join(a.id for a in matches)
    return None, f"no organization_id, and the requester's domain {domain} is claimed by {names}"


def customer_authors(
    ticket: dict[str, Any],
    account: Account,
    users: Mapping[str, dict[str, Any]],
    authors: Iterable[str],
) -> frozenset[str]:
    """Those of ``authors`` (comment author ids) whose public comments on this ticket are the
    customer's words (the requester is always one and is handled by the comment reader)."""
    orgs = {o for o in (organization_of(ticket), account.zendesk_organization_id) if o is not None}
    found = set()
    for author in authors:
        user = users.get(author)
        if user is None:
            continue
        if user.get("role") == "end-user" and _org(user.get("organization_id")) in orgs:
            found.add(author)
            continue
        email = email_of(user)
        if email is not None and customer_domain(email, account):
            found.add(author)
    return frozenset(found)
