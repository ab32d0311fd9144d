"""Reading rule files: YAML through the safe loader only, keeping the line of every key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policyengine.errors import RuleError

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
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(file: Path) -> YamlDocument:
    """Parse one YAML file with `yaml.SafeLoader`; duplicate keys are errors."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RuleError(f"rule files must be UTF-8 ({exc.reason} at byte {exc.start})", file=file) from exc
    except OSError as exc:
        raise RuleError(f"cannot read: {exc.strerror}", file=file) from exc
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(file, None, {(): 1})
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise RuleError(f"YAML syntax: {exc.problem or exc.context}", file=file, line=line) from exc
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
