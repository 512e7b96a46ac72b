"""YAML with a budget: a few hundred bytes of nested aliases cannot become gigabytes.

PyYAML's safe loader refuses tags but expands aliases: nine levels of nine aliases (a
"billion laughs") in a value case's ``where:`` or a note's ``attendees:`` took 5-7 GB before
issue 13. :func:`check_budget` walks the composed node graph, where an alias is a shared
node and costs nothing, and counts the values the document *would* expand to (memoised per
node, so the walk itself stays linear). Over the budget, or an alias that contains itself,
raises :class:`YamlBudgetError`, a ``yaml.YAMLError`` so callers report it with file and line.
"""

from __future__ import annotations

from typing import Any

import yaml

# A value case or note front matter has hundreds of values; these bounds are far above any
# real file and far below what hurts.
MAX_YAML_CHARS = 2_000_000
MAX_YAML_VALUES = 100_000


class YamlBudgetError(yaml.YAMLError):
    """A YAML document that would expand beyond the budget (or refers to itself)."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_text(text: str) -> None:
    if len(text) > MAX_YAML_CHARS:
        raise YamlBudgetError(f"YAML is {len(text):,} characters; at most {MAX_YAML_CHARS:,}")


def check_budget(root: yaml.Node | None) -> None:
    """Raise :class:`YamlBudgetError` if ``root`` expands to more than MAX_YAML_VALUES values."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > MAX_YAML_VALUES:
                raise YamlBudgetError(
                    f"aliases expand to more than {MAX_YAML_VALUES:,} values "
                    "(an alias bomb?); write the values out",
                    node.start_mark,
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise YamlBudgetError("an alias refers to a value that contains it", node.start_mark)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
