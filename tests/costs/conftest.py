"""Fakes for the costs tests: a sysfs-like cache tree written under tmp_path."""

import pytest


def write_cache_tree(root, caches):
    """caches: [(level, type, size_text), ...] -> root/index{i}/{level,type,size,...}."""
    for i, (level, ctype, size) in enumerate(caches):
        index = root / f"index{i}"
        index.mkdir(parents=True)
        (index / "level").write_text(f"{level}\n")
        (index / "type").write_text(f"{ctype}\n")
        (index / "size").write_text(f"{size}\n")
        (index / "ways_of_associativity").write_text("8\n")
        (index / "coherency_line_size").write_text("64\n")
        (index / "shared_cpu_list").write_text("0\n")
    return root


@pytest.fixture
def fake_cache_root(tmp_path):
    """An EPYC-like tree: L1d 32K, L1i 32K, L2 512K, L3 32768K."""
    return write_cache_tree(
        tmp_path / "cache",
        [(1, "Data", "32K"), (1, "Instruction", "32K"), (2, "Unified", "512K"), (3, "Unified", "32768K")],
    )


@pytest.fixture
def cache_tree_writer():
    """The tree writer itself, for tests that need another cache layout."""
    return write_cache_tree
