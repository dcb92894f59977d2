"""The README's Python example runs as written (so it cannot drift from the package)."""

import re
import subprocess
import sys

from conftest import ROOT


def test_readme_python_example_runs():
    text = (ROOT / "README.md").read_text()
    section = text.split("## From Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the From Python section should hold one python block"
    r = subprocess.run([sys.executable, "-c", blocks[0]], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "circle" in r.stdout
