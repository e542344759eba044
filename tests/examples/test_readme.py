"""The README's examples are real: its test example is this folder's test file, verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_testing_example_is_the_tested_file() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(# tests/test_my_jobs.py\n.*?)```", readme, re.S)
    assert block is not None
    assert block.group(1) == (Path(__file__).parent / "test_my_jobs.py").read_text()


def test_readme_quick_start_matches_ci() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(python3 -m venv .*)\n```", readme)
    assert len(commands) == 2
    assert "sqs-lambda local --demo --until-idle" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
