"""The rules' list as documented: a newcomer reads rules.py's docstring, the operator runs SIZING and PACING."""

from __future__ import annotations

import re

from operators.scaler import rules


def test_the_docstring_lists_every_rule_in_the_order_they_run() -> None:
    documented = re.findall(r"^    ([A-Z][A-Za-z]+)  +\S", rules.__doc__ or "", re.M)
    assert documented == [name for name, _ in rules.SIZING + rules.PACING]
