"""The documentation runs: the example scripts, every Python block of the docs, the diagrams.

Conventions for Python blocks in ``README.md`` and ``docs/**/*.md``:

* Each block runs in a fresh namespace, from the repository root, and must not raise.
* A block preceded by ``<!-- continue -->`` runs in the namespace of the block before
  it on the same page (a tutorial that builds on its previous steps).
* A block preceded by ``<!-- skip-test -->`` is not run. Use it only for code that is
  deliberately partial.
* A block that defines ``test_*`` functions is a pytest module: it is run by pytest
  in a subprocess, with the ticketflow plugin loaded as users get it.
* A ``text title="Output"`` block right after a Python block is that block's
  expected output, compared exactly (trailing spaces aside).
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

from ticketflow import workflows

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

EXPECTED_EXAMPLE_OUTPUT = {
    "quickstart.py": "closed; first response after 0:12:00",
    "custom_workflow.py": "a reply 3 days after closing reopened the same ticket: 'in_progress'",
}

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<code>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_MARKER = re.compile(r"<!--\s*(skip-test|continue)\s*-->\s*$")
_OUTPUT_INFO = 'text title="Output"'


@dataclass
class Block:
    """One Python block of a page, with what the page says about it."""

    page: Path
    line: int
    code: str
    marker: str | None
    expected_output: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


@dataclass
class Run:
    """Blocks that run in one namespace: a block and the blocks that continue it."""

    blocks: list[Block] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.blocks[0].where


def _dedent(code: str, indent: str) -> str:
    return "".join(line.removeprefix(indent) for line in code.splitlines(keepends=True))


def _blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    blocks: list[Block] = []
    previous_end = -1
    for match in _FENCE.finditer(text):
        info = match["info"].strip()
        code = _dedent(match["code"], match["indent"])
        between = text[previous_end : match.start()] if previous_end >= 0 else None
        previous_end = match.end()
        if info == _OUTPUT_INFO and blocks and between is not None and not between.strip():
            blocks[-1].expected_output = code
            continue
        if info.split(" ", 1)[0] != "python":
            previous_end = -1
            continue
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        blocks.append(
            Block(
                page=page,
                line=text.count("\n", 0, match.start()) + 1,
                code=code,
                marker=marker[1] if marker else None,
            )
        )
    return blocks


def _runs() -> list[Run]:
    runs: list[Run] = []
    for page in PAGES:
        for block in _blocks(page):
            if block.marker == "continue":
                assert runs, f"{block.where}: '<!-- continue -->' with nothing to continue"
                assert runs[-1].blocks[0].page == page, f"{block.where}: continues another page"
                runs[-1].blocks.append(block)
            else:
                runs.append(Run([block]))
    return runs


RUNS = _runs()


def _defines_tests(code: str) -> bool:
    return any(
        isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        for node in ast.parse(code).body
    )


def _same_output(expected: str, actual: str) -> bool:
    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.strip("\n").splitlines()]

    return lines(expected) == lines(actual)


@pytest.mark.parametrize("run", RUNS, ids=lambda run: run.id)
def test_python_block_runs(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Python block of the README and the docs runs and prints what the page shows."""
    if run.blocks[0].marker == "skip-test":
        pytest.skip("marked <!-- skip-test --> (deliberately partial code)")
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "docs_block"}
    for block in run.blocks:
        if _defines_tests(block.code):
            _run_with_pytest(block, tmp_path)
            continue
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102
        if block.expected_output is not None:
            assert _same_output(block.expected_output, stdout.getvalue()), (
                f"{block.where}: the output differs from the page.\n"
                f"--- page\n{block.expected_output}--- actual\n{stdout.getvalue()}"
            )


def _run_with_pytest(block: Block, tmp_path: Path) -> None:
    module = tmp_path / f"test_block_{block.line}.py"
    module.write_text(block.code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, f"{block.where}: pytest failed\n{result.stdout}{result.stderr}"
    assert " passed" in result.stdout


def test_docs_have_python_blocks() -> None:
    """The block finder finds the blocks (a broken pattern would silently test nothing)."""
    pages = {run.blocks[0].page.name for run in RUNS}
    assert {"README.md", "tutorial.md", "custom-workflow.md", "lifecycle.md"} <= pages
    assert all(
        run.blocks[0].marker != "skip-test"
        for run in RUNS
        if run.blocks[0].page.name == "README.md"
    )


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    """Every example runs as a script, from any directory, and prints what it promises."""
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert EXPECTED_EXAMPLE_OUTPUT.get(script.name, "") in result.stdout


def test_readme_quickstart_is_the_example() -> None:
    """The README's quickstart is ``examples/quickstart.py``, word for word."""
    quickstart = next(b for b in _blocks(ROOT / "README.md") if "open_ticket" in b.code)
    assert quickstart.code in (ROOT / "examples" / "quickstart.py").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands() -> None:
    """The README opens with the install-and-demo and install-and-test commands."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = next(_FENCE.finditer(text))
    venv = "python3 -m venv .venv && .venv/bin/"
    assert [
        f"{venv}pip install -e . && .venv/bin/python -m ticketflow demo",
        f"{venv}pip install -e '.[test]' -e examples/jsonfile_store && .venv/bin/python -m pytest -n auto",
    ] == first["code"].splitlines()


def _load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", workflows.PRESETS)
def test_docs_hook_draws_each_preset(name: str) -> None:
    """The MkDocs hook replaces a preset's marker by the preset's own Mermaid diagram."""
    hooks = _load_hooks()
    page = f"Before.\n\n<!-- workflow-diagram: {name} -->\n\nAfter.\n"
    rendered = hooks.on_page_markdown(page, page=None, config=None, files=None)
    diagram = workflows.preset(name).mermaid().rstrip()
    assert f"Before.\n\n```mermaid\n{diagram}\n```\n\nAfter.\n" == rendered
    assert "stateDiagram-v2" in rendered
    for status in workflows.preset(name).statuses:
        assert f" as {status.name}\n" in rendered


def test_docs_hook_refuses_unknown_presets() -> None:
    """A marker naming no preset fails the build instead of leaving a hole in the page."""
    hooks = _load_hooks()
    with pytest.raises(KeyError, match="nosuchdesk"):
        hooks.render_diagrams("<!-- workflow-diagram: nosuchdesk -->\n")


def test_presets_page_draws_every_preset() -> None:
    """The presets page carries a diagram marker for every shipped preset."""
    text = (ROOT / "docs" / "presets.md").read_text(encoding="utf-8")
    for name in workflows.PRESETS:
        assert f"<!-- workflow-diagram: {name} -->" in text
