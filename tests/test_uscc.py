from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policyengine.facts.uscc import CHARSET, UsccError, check_character, validate_uscc


def test_known_valid_code() -> None:
    assert validate_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"


def test_wrong_check_character_names_the_expected_one() -> None:
    with pytest.raises(UsccError, match="expected '3'"):
        validate_uscc("91350100M000100Y44")


@pytest.mark.parametrize("code", ["91350100M000100Y4", "91350100M000100Y433", "91350100O000100Y43"])
def test_malformed_codes(code: str) -> None:
    with pytest.raises(UsccError):
        validate_uscc(code)


def test_charset_excludes_ambiguous_letters() -> None:
    assert len(CHARSET) == 31
    assert not set("IOSVZ") & set(CHARSET)


@given(st.text(alphabet=CHARSET, min_size=17, max_size=17), st.sampled_from(CHARSET))
def test_exactly_one_check_character_is_valid(body: str, last: str) -> None:
    code = body + last
    if last == check_character(body):
        assert validate_uscc(code) == code
    else:
        with pytest.raises(UsccError):
            validate_uscc(code)
