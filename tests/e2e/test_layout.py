"""docs/design.md's layout map names every source module, and only those."""

import re

from spec import REPO

SOURCES = ["components", "host/src", "benches/src"]


def test_the_layout_map_matches_the_tree():
    design = (REPO / "docs" / "design.md").read_text()
    section = design.split("## Layout", 1)[1].split("\n## ", 1)[0]
    mapped = set(re.findall(r"^\| `([^`]+\.rs)` \|", section, flags=re.M))
    tree = {
        str(p.relative_to(REPO))
        for root in SOURCES
        for p in (REPO / root).rglob("*.rs")
        if not p.name.endswith("tests.rs") and "/target/" not in str(p) and "/tests/" not in str(p)
    }
    tree = {p for p in tree if "/src/" in p}
    assert mapped - tree == set(), "mapped but not in the tree"
    assert tree - mapped == set(), "in the tree but not in docs/design.md's map"
