"""Every file, module and flag that README.md and docs/ name exists, and every module is described.

The words drift when code moves: these checks read the names out of the Markdown, mechanically,
and look each one up.
"""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jaxvae.commands.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# a repository path as the pages write it: under a top-level folder of the repository
PATH = re.compile(r"(?<![\w/.-])((?:jaxvae|scripts|benchmarks|docs|tests|\.ci)/[\w./-]*[\w-])")
MODULE = re.compile(r"(?<![\w.])(jaxvae(?:\.\w+)+)")
COMMAND = re.compile(r"(?<![\w/-])jaxvae (train|demo|why|sweep|eval|explore|judge)\b([^`\n|]*)")
SCRIPT = re.compile(r"(?<![\w/-])((?:scripts|benchmarks)/\w+\.py)\b([^`\n|]*)")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
# folders a page names that a run writes, not the repository
WRITTEN = ("benchmarks/results/device-check", "docs/_build")


def _text(page: Path) -> str:
    return page.read_text()


def _names(pattern: re.Pattern[str]) -> set[tuple[str, str]]:
    return {(m.group(1), page.name) for page in PAGES for m in pattern.finditer(_text(page))}


def test_every_path_the_pages_name_exists():
    missing = []
    for path, page in sorted(_names(PATH)):
        target = (ROOT / path).resolve()
        if not (target.exists() or path.startswith(WRITTEN) or any(ch in path for ch in "*<>")):
            missing.append(f"{page}: {path}")
    assert not missing, "the pages name paths that do not exist:\n" + "\n".join(missing)


def test_every_module_and_name_under_jaxvae_the_pages_name_exists():
    missing = []
    for dotted, page in sorted(_names(MODULE)):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable prefix, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                missing.append(f"{page}: {dotted}")
            break
        else:
            missing.append(f"{page}: {dotted}")
    assert not missing, "the pages name modules or functions that do not exist:\n" + "\n".join(missing)


def _command_flags() -> dict[str, set[str]]:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.choices and "demo" in a.choices).choices
    top = {s for a in parser._actions for s in a.option_strings}

    def flags(sub) -> set[str]:  # a command's flags, and those of its actions (jaxvae judge build)
        nested = [p for a in sub._actions if a.choices and not a.option_strings for p in a.choices.values()]
        return {s for a in sub._actions for s in a.option_strings}.union(*map(flags, nested))

    return {name: top | flags(sub) for name, sub in commands.items()}


def test_every_flag_the_pages_give_a_command_is_one_of_its_flags():
    known = _command_flags()
    wrong = []
    for page in PAGES:
        for m in COMMAND.finditer(_text(page)):
            command, rest = m.group(1), m.group(2)
            if command not in known:
                wrong.append(f"{page.name}: jaxvae {command} is not a command")
                continue
            wrong += [
                f"{page.name}: jaxvae {command} {f}" for f in FLAG.findall(rest) if f not in known[command]
            ]
    assert not wrong, "the pages give flags that the commands do not take:\n" + "\n".join(wrong)


def test_every_flag_the_pages_give_a_script_is_in_its_help():
    uses: dict[str, set[str]] = {}
    for page in PAGES:
        for m in SCRIPT.finditer(_text(page)):  # flags after " -- " are the wrapped command's
            uses.setdefault(m.group(1), set()).update(FLAG.findall(m.group(2).split(" -- ")[0]))
    wrong = []
    for script, flags in sorted(uses.items()):
        if not flags or not (ROOT / script).exists():
            continue  # a path that does not exist is the path test's to report
        shown = subprocess.run(
            [sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
        ).stdout
        wrong += [f"{script} {flag}" for flag in sorted(flags) if flag not in shown]
    assert not wrong, "the pages give scripts flags that their --help does not list:\n" + "\n".join(wrong)


def _modules(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("layer", ["", "runs", "study", "report", "experiments", "commands"])
def test_design_doc_describes_every_module_of_every_layer(layer):
    design = _text(ROOT / "docs" / "design.md")
    missing = [m for m in _modules(ROOT / "jaxvae" / layer) if f"`{m}.py`" not in design]
    assert not missing, f"docs/design.md does not describe jaxvae/{layer} modules: {missing}"


@pytest.mark.parametrize("layer", ["runs", "study", "report", "experiments", "commands"])
def test_each_layers_docstring_names_its_modules(layer):
    doc = importlib.import_module(f"jaxvae.{layer}" if layer else "jaxvae").__doc__ or ""
    missing = [m for m in _modules(ROOT / "jaxvae" / layer) if f"``{m}``" not in doc]
    assert not missing, f"jaxvae/{layer}/__init__.py's docstring leaves out {missing}"
