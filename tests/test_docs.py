"""The docs cannot drift from the code: the settings table of docs/configuration.md is held to
what core/config.py reads, and every relative link in README.md and docs/ leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from core.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATION = ROOT / "docs" / "configuration.md"
CONFIG_MODULE = ROOT / "core" / "config.py"
SETTINGS_SECTION = "## Settings"
# A field of Settings and the variable it is read from: `port=env.get("PORT", ...)`.
_FIELD_READ = re.compile(r"""\b(\w+)=env\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


class _Recording(dict[str, str]):
    """An empty environment that notes every variable asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return super().__contains__(key)


def variables_read() -> set[str]:
    """Every environment variable `load_settings` reads."""
    environ = _Recording()
    load_settings(environ)
    return environ.asked


def documented_settings() -> dict[str, str]:
    """The settings table of docs/configuration.md: variable -> its default cell."""
    text = CONFIGURATION.read_text(encoding="utf-8")
    assert f"\n{SETTINGS_SECTION}\n" in text, f"{CONFIGURATION} has no '{SETTINGS_SECTION}'"
    section = text.split(f"\n{SETTINGS_SECTION}\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or cells[0] in ("variable", "---"):
            continue
        name = cells[0].strip("`")
        assert name not in rows, f"{name} has two rows"
        rows[name] = cells[1]
    return rows


def test_every_setting_read_has_a_row_and_nothing_else_does() -> None:
    read = variables_read()
    assert {"PORT", "HOST", "REDIS_URL"} <= read, "load_settings reads its variables elsewhere"
    documented = set(documented_settings())
    assert not read - documented, f"not in {CONFIGURATION.name}: {sorted(read - documented)}"
    assert not documented - read, f"core/config.py does not read {sorted(documented - read)}"


@pytest.mark.parametrize("name", sorted(documented_settings()))
def test_the_documented_default_is_the_default(name: str) -> None:
    """`none` (optionally with a gloss) means unset; anything else is a value which, set
    explicitly, gives the very settings that leaving it unset gives."""
    cell = documented_settings()[name]
    literal = cell.split()[0].strip("`")
    defaults = load_settings({})
    if literal in ("none", "none:"):
        fields = {variable: field for field, variable in
                  _FIELD_READ.findall(CONFIG_MODULE.read_text(encoding="utf-8"))}
        assert name in fields, f"no `field=env.get({name!r}, ...)` in core/config.py"
        assert getattr(defaults, fields[name]) in (None, ()), f"{name} has a default: {cell}"
        return
    try:
        explicit = load_settings({name: literal})
    except ConfigError as exc:
        pytest.fail(f"{name}: the documented default {literal!r} does not parse: {exc}")
    assert explicit == defaults, f"{name}={literal} is not the default"


def _anchors(markdown: str) -> set[str]:
    """GitHub's ids for the headings of a Markdown file."""
    anchors = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("document", ["README.md", *sorted(
    str(path.relative_to(ROOT)) for path in (ROOT / "docs").glob("*.md"))])
def test_relative_links_lead_somewhere(document: str) -> None:
    source = ROOT / document
    text = source.read_text(encoding="utf-8")
    for target in _LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # http:, https:, mailto:
        path, _, anchor = target.partition("#")
        linked = (source.parent / path).resolve() if path else source
        assert linked.exists(), f"{document}: {target} leads nowhere"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked.read_text(encoding="utf-8")), (
                f"{document}: {target}: no heading with that anchor")
