"""Reading one applicant's facts from a JSON or YAML file (`policyengine evaluate FILE`, `explain`).

The file is bounded before it is parsed: at most `limits.MAX_FACTS_FILE_BYTES`, no YAML aliases, nesting of at
most `limits.MAX_NESTING`, numbers of at most `limits.MAX_NUMBER_DIGITS` digits, values of at most
`limits.MAX_FACT_VALUE_CHARS` characters; each refusal is one line naming the file and the line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from policyengine.errors import PolicyEngineError
from policyengine.limits import MAX_FACT_VALUE_CHARS, MAX_FACTS_FILE_BYTES, MAX_NESTING, MAX_NUMBER_DIGITS
from policyengine.model.yamlsource import SAFE_LOADER, refusal, syntax_message

# a JSON string (skipped whole), a bracket, or a number
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|-?[0-9][0-9.eE+-]*')


def json_refusal(text: str) -> tuple[int, str] | None:
    """What a facts file refuses in JSON `text` (nesting deeper than MAX_NESTING, a number of more than
    MAX_NUMBER_DIGITS digits, a string of more than MAX_FACT_VALUE_CHARS characters as written), as (line,
    message), or None; one pass, no recursion. Text that is not JSON is left to the JSON parser."""
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        first = text[m.start()]
        if first in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return _line(text, m.start()), f"nested more than {MAX_NESTING} levels deep; the limit is {MAX_NESTING}"
        elif first in "]}":
            depth -= 1
        elif first == '"':
            if len(m.group()) - 2 > MAX_FACT_VALUE_CHARS:
                return _line(text, m.start()), (f"a value of {len(m.group()) - 2:,} characters; the limit is "
                                                f"{MAX_FACT_VALUE_CHARS:,}")
        else:
            digits = sum(c.isdigit() for c in m.group())
            if digits > MAX_NUMBER_DIGITS:
                return _line(text, m.start()), (f"a number with {digits:,} digits; the limit is {MAX_NUMBER_DIGITS} "
                                                "digits")
    return None


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def read_facts_file(path: Path) -> dict[str, object]:
    """A mapping of fact names or Chinese labels to values, from a .json or .yaml file."""
    is_json = path.suffix == ".json"
    try:
        size = path.stat().st_size
        if size > MAX_FACTS_FILE_BYTES:
            raise PolicyEngineError(f"{path}: the file has {size:,} bytes; the limit is {MAX_FACTS_FILE_BYTES:,} "
                                    "bytes")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyEngineError(f"{path}: cannot read: {exc}") from None
    try:
        refused = json_refusal(text) if is_json else refusal(text, MAX_FACT_VALUE_CHARS)
        if refused is not None:
            raise PolicyEngineError(f"{path}:{refused[0]}: {refused[1]}")
        data = json.loads(text) if is_json else yaml.load(text, Loader=SAFE_LOADER)  # the safe loader
    except json.JSONDecodeError as exc:
        raise PolicyEngineError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise PolicyEngineError(f"{where}: {syntax_message(exc)}") from None
    except yaml.YAMLError as exc:
        raise PolicyEngineError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise PolicyEngineError(f"{path}: expected a mapping of facts to values")
    return {str(k): v for k, v in data.items()}
