"""The package's folders are its layers, and imports go down only (docs/design.md)."""

import ast
from pathlib import Path

import pytest

import jaxvae

PACKAGE = Path(jaxvae.__file__).parent
# bottom to top; "core" is the JAX library, the modules directly in jaxvae/
LAYERS = ("core", "runs", "study", "report", "experiments", "commands")


def layer_of(module: str) -> str:
    """The layer of a module named ``jaxvae...``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "core"


def module_name(path: Path) -> str:
    return ".".join(("jaxvae", *path.relative_to(PACKAGE).with_suffix("").parts))


def imported(path: Path) -> set[str]:
    """Every jaxvae module ``path`` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jaxvae"):
            names.add(node.module)
            if node.module == "jaxvae":  # from jaxvae import runs
                names |= {f"jaxvae.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.startswith("jaxvae")}
    return names


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_module_is_in_a_layer():
    assert {layer_of(module_name(p)) for p in MODULES} == set(LAYERS)
    assert {p.parent.name for p in MODULES} == {"jaxvae", *LAYERS[1:]}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_go_down_only(path):
    own = LAYERS.index(layer_of(module_name(path)))
    for name in imported(path):
        assert LAYERS.index(layer_of(name)) <= own, f"{module_name(path)} imports {name} from a layer above"


def test_the_core_imports_no_other_layer():
    core = [p for p in MODULES if p.parent == PACKAGE]
    assert core and all(layer_of(n) == "core" for p in core for n in imported(p))


def test_the_study_imports_nothing_from_the_report():
    study = [p for p in MODULES if p.parent.name == "study"]
    assert study and not any(
        layer_of(n) in ("report", "experiments", "commands") for p in study for n in imported(p)
    )


def test_nothing_but_the_commands_imports_the_commands():
    for path in MODULES:
        if path.parent.name != "commands":
            assert not any(layer_of(n) == "commands" for n in imported(path)), module_name(path)


def test_the_public_api_is_the_library_with_runs_and_generator_measures():
    """``jaxvae/__init__`` re-exports the library, the run helpers its README names (checkpoints,
    ``load_model``, ``TrainConfig``) and the generator measures; never the report or commands."""
    layers = {layer_of(n) for n in imported(PACKAGE / "__init__.py")}
    assert layers == {"core", "runs", "study"}


def test_the_layering_test_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from jaxvae.commands.cli import main\n")
    assert "jaxvae.commands.cli" in imported(bad)
    assert layer_of("jaxvae.commands.cli") == "commands" and layer_of("jaxvae.models") == "core"
