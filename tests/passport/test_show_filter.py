"""The pages' ``show`` filter (passport/i18n.py): every shape of value as the page writes
it, escaped, in each language."""

from __future__ import annotations

from typing import Any

import pytest

from passport import i18n

PAGES = i18n.Pages()
DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
ACTORS = {DID: "Yard <Recovery> & Co"}


def show(value: Any, key: str | None = None, lang: str = "en") -> str:
    template = PAGES.environments[lang].from_string("{{ v|show(k) }}")
    return template.render(v=value, k=key, actors=ACTORS)


@pytest.mark.parametrize(
    ("value", "key", "html"),
    [
        (None, None, '<span class="muted">none</span>'),
        (True, None, "yes"),
        (False, None, "no"),
        (1234.5, "soce", "1,234.5"),
        ("https://a.example/x?a=1&b=<2>", None,
         '<a href="https://a.example/x?a=1&amp;b=&lt;2&gt;" rel="nofollow">'
         "https://a.example/x?a=1&amp;b=&lt;2&gt;</a>"),
        ("sha256:" + "ab" * 32, None, '<code class="hash">sha256:' + "ab" * 32 + "</code>"),
        (DID, None,
         '<span class="actor">Yard &lt;Recovery&gt; &amp; Co</span> '
         f'<code class="did">{DID}</code>'),
        ("did:key:unknown", None, '<code class="did">did:key:unknown</code>'),
        ("2031-05-02", "testedOn", "May 2, 2031"),
        ("2031-05-02T10:00:00Z", "validFrom",
         "May 2, 2031, 10:00:00\N{NARROW NO-BREAK SPACE}AM UTC"),
        ("<script>", "note", "&lt;script&gt;"),
        ({"a": [1, None]}, None,
         '<dl class="nested"><dt>a</dt><dd><ul class="list"><li>1</li>'
         '<li><span class="muted">none</span></li></ul></dd></dl>'),
    ],
)  # fmt: skip
def test_each_shape_in_english(value: Any, key: str | None, html: str) -> None:
    assert show(value, key) == html


def test_numbers_dates_and_words_in_german_and_french() -> None:
    assert show(1234.5, "soce", "de") == "1.234,5"
    assert show(True, None, "de") == "ja" and show(False, None, "fr") == "non"
    assert show("2031-05-02", "testedOn", "fr") == "2 mai 2031"
    none = i18n.catalogue("de").gettext("none")
    assert none != "none" and show(None, None, "de") == f'<span class="muted">{none}</span>'


def test_withheld_groups_are_named_with_their_digests_escaped() -> None:
    template = PAGES.environments["en"].from_string("{{ d|withheld }}")
    assert template.render(d={}) == "" and template.render(d=None) == ""
    assert template.render(d={"performance": "sha256:<ab>"}) == (
        '\n<ul class="withheld">\n<li>performance data: withheld from you, present and '
        'proven by its digest <code class="hash">sha256:&lt;ab&gt;</code></li>\n</ul>'
    )
