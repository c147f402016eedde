"""The README's Python snippet runs as written (on the bundled subset: tests never download)."""

import re
from pathlib import Path

import jaxvae

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_snippet_runs(monkeypatch, capsys):
    snippet = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert snippet, "the README has a Python snippet"
    monkeypatch.setattr(jaxvae, "load_dataset", lambda name, split: jaxvae.load_bundled(split))
    exec(compile(snippet.group(1), "README.md", "exec"), {})
    assert "LossTerms(total=" in capsys.readouterr().out
