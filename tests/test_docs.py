"""The Python examples in docs/ run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
EXAMPLES = [
    pytest.param(block, id=f"{path.name}#{number}")
    for path in sorted(DOCS.glob("*.md"))
    for number, block in enumerate(
        re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    )
]


@pytest.mark.parametrize("block", EXAMPLES)
def test_python_example_runs(block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(block.replace("/tmp/", f"{tmp_path}/"), "docs", "exec"), {})
