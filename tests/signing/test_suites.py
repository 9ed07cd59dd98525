"""The cryptosuites' internals that are not covered by the W3C vectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from signing import suites
from signing.contexts import default_loader
from signing.errors import CanonicalizationError
from tests.hypothesis_profiles import examples

TEXT = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=12
)  # every code point, lone surrogates included
CONFIG_VALUES = st.one_of(TEXT, st.lists(TEXT, max_size=3), st.integers(), st.floats(), st.none())


# The suite's own, and the one it uses without the C accelerator.
CONFIG_PATHS = [suites.SUITES[suites.JCS].canonicalize_config, suites._jcs_strings]


@pytest.mark.parametrize("canonicalize_config", CONFIG_PATHS)
@settings(max_examples=examples(1500))
@given(config=st.dictionaries(TEXT, CONFIG_VALUES, max_size=7))
def test_proof_configuration_fast_path_is_rfc8785(
    canonicalize_config: Callable[..., bytes], config: dict[str, Any]
):
    try:
        expected = rfc8785.dumps(config)
    except Exception:
        with pytest.raises(CanonicalizationError):
            canonicalize_config(config, default_loader())
        return
    assert canonicalize_config(config, default_loader()) == expected


@pytest.mark.parametrize("canonicalize_config", CONFIG_PATHS)
def test_utf16_key_order_in_proof_configuration(canonicalize_config: Callable[..., bytes]):
    config = {"\U0001f600": "a", "\ufb33": "b", "type": "DataIntegrityProof"}
    assert canonicalize_config(config, default_loader()) == rfc8785.dumps(config)
