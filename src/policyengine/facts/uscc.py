"""Unified social credit codes (统一社会信用代码), GB 32100-2015."""

from __future__ import annotations

from policyengine.errors import PolicyEngineError, Unreadable

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(CHARSET)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]


class UsccError(PolicyEngineError, Unreadable):
    """Text that is not a valid unified social credit code: `reason` in English, `reason_zh` in Chinese."""


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate_uscc(text: str) -> str:
    """Return the normalised code (upper case, trimmed) or raise `UsccError` saying what is wrong."""
    code = text.strip().upper()
    if len(code) != 18:
        raise UsccError(f"a unified social credit code has 18 characters, this has {len(code)}",
                        f"统一社会信用代码应为 18 位，此处为 {len(code)} 位")
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        raise UsccError(f"characters {''.join(bad)!r} are not allowed (I, O, S, V, Z never occur)",
                        f"含不允许的字符 {''.join(bad)!r}（统一社会信用代码不含 I、O、S、V、Z）")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise UsccError(f"check character is {code[17]!r}, expected {expected!r}",
                        f"统一社会信用代码校验位应为 {expected!r}，实为 {code[17]!r}")
    return code
