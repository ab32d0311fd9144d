"""Reading rule files: YAML through the safe loader only, keeping the line of every key.

Before anything is built, the event stream is read once (`refusal`): an alias, nesting beyond
`limits.MAX_NESTING` or a plain number of more than `limits.MAX_NUMBER_DIGITS` digits is refused with its line,
so an alias bomb or a 10,000-level nesting is refused as fast as its text is read. Facts files use the same check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policyengine.errors import RuleError
from policyengine.limits import MAX_NESTING, MAX_NUMBER_DIGITS, MAX_RULE_FILE_BYTES

KeyPath = tuple[str | int, ...]


def render_path(path: KeyPath) -> str:
    """`clauses[3].conditions[1]` for ("clauses", 3, "conditions", 1)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass
class YamlDocument:
    """One parsed rule file: its data and the 1-based line of each key path."""

    file: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)

    def error(self, path: KeyPath, message: str) -> RuleError:
        return RuleError(message, file=self.file, line=self.line_of(path), path=render_path(path))


# libyaml's safe loader when PyYAML was built with it (several times faster), else the pure-Python one
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# a plain scalar the YAML 1.1 resolvers may read as a number (int, float, base 60): its digits are counted
_NUMBER_LIKE = re.compile(r"[-+]?[0-9][0-9_:.]*(?:[eE][-+]?[0-9]+)?")


def refusal(text: str, longest: int | None = None) -> tuple[int, str] | None:
    """The first thing rule and facts files refuse in YAML `text`, as (line, message), or None: an alias,
    nesting deeper than MAX_NESTING, a plain number of more than MAX_NUMBER_DIGITS digits, a value of more than
    `longest` characters (when given).

    Reads the event stream only (nothing is built); raises `yaml.YAMLError` on a syntax error."""
    depth = 0
    for event in yaml.parse(text, Loader=SAFE_LOADER):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent):
            return line, (f"YAML alias *{event.anchor} refused: aliases are not allowed in rule and facts files "
                          "(write the value out where it is used)")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                return line, f"nested more than {MAX_NESTING} levels deep; the limit is {MAX_NESTING}"
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent):
            if longest is not None and len(event.value) > longest:
                return line, f"a value of {len(event.value):,} characters; the limit is {longest:,}"
            if event.implicit[0] and _NUMBER_LIKE.fullmatch(event.value):
                digits = sum(c.isdigit() for c in event.value)
                if digits > MAX_NUMBER_DIGITS:
                    return line, (f"a number with {digits:,} digits; the limit is {MAX_NUMBER_DIGITS} digits "
                                  "(quote it if it is text)")
    return None


def syntax_message(exc: yaml.MarkedYAMLError) -> str:
    """The one line for a YAML syntax error (libyaml refuses nesting beyond 1,000 flow levels by itself)."""
    problem = str(exc.problem or exc.context)
    if "maximum nesting depth" in problem:
        return f"nested more than {MAX_NESTING} levels deep; the limit is {MAX_NESTING}"
    return f"YAML syntax: {problem}"


def load_yaml(file: Path) -> YamlDocument:
    """Parse one YAML file with `yaml.SafeLoader`; duplicate keys are errors; `refusal` and
    MAX_RULE_FILE_BYTES bound what is read."""
    try:
        size = file.stat().st_size
        if size > MAX_RULE_FILE_BYTES:
            raise RuleError(f"the file has {size:,} bytes; the limit is {MAX_RULE_FILE_BYTES:,} bytes", file=file)
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RuleError(f"rule files must be UTF-8 ({exc.reason} at byte {exc.start})", file=file) from exc
    except OSError as exc:
        raise RuleError(f"cannot read: {exc.strerror}", file=file) from exc
    loader = SAFE_LOADER(text)
    try:
        refused = refusal(text)
        if refused is not None:
            raise RuleError(refused[1], file=file, line=refused[0])
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(file, None, {(): 1})
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise RuleError(syntax_message(exc), file=file, line=line) from exc
    except yaml.YAMLError as exc:
        raise RuleError(f"YAML: {exc}", file=file) from exc
    finally:
        loader.dispose()
    doc = YamlDocument(file, data, {(): node.start_mark.line + 1})
    _record_lines(doc, node, ())
    return doc


def _record_lines(doc: YamlDocument, node: yaml.Node, path: KeyPath) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise RuleError("duplicate key", file=doc.file, line=key_node.start_mark.line + 1,
                                path=render_path((*path, key)))
            seen.add(key)
            child = (*path, key)
            doc.lines[child] = key_node.start_mark.line + 1
            _record_lines(doc, value_node, child)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = (*path, i)
            doc.lines[child] = item.start_mark.line + 1
            _record_lines(doc, item, child)
