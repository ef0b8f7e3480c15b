"""Cache sizes from a fake sysfs tree, from a mapping, and the failure that says how to fix it."""

import pytest

from lstm_energy.costs.caches import CacheHierarchy, parse_size, read_caches, resolve_caches
from lstm_energy.errors import MachineInfoError


def test_reads_fake_sysfs_tree(fake_cache_root):
    caches = read_caches(fake_cache_root)
    assert caches.l1d == 32 * 1024
    assert caches.l2 == 512 * 1024
    assert caches.llc == 32 * 1024 * 1024
    assert caches.named_levels() == [("L1", 32768), ("L2", 524288), ("LLC", 33554432)]
    assert caches.source == f"sysfs:{fake_cache_root}"
    assert caches.levels[0].ways == 8 and caches.levels[0].line_bytes == 64


def test_two_level_machine_calls_l2_the_llc(tmp_path, cache_tree_writer):
    root = cache_tree_writer(tmp_path / "c", [(1, "Instruction", "64K"), (1, "Data", "48K"), (2, "Unified", "2M")])
    caches = read_caches(root)
    assert caches.named_levels() == [("L1", 48 * 1024), ("LLC", 2 * 1024 * 1024)]
    assert caches.llc == caches.l2 == 2 * 1024 * 1024


@pytest.mark.parametrize("text, expected", [("32K", 32768), ("32768K", 33554432), ("1M", 1 << 20), ("512", 512)])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


def test_missing_tree_says_how_to_fix(tmp_path):
    with pytest.raises(MachineInfoError, match="pass caches="):
        read_caches(tmp_path / "nothing")


def test_resolve_accepts_mapping_path_and_hierarchy(fake_cache_root):
    from_map = resolve_caches({"L1": 32768, "L2": 524288, "LLC": 33554432})
    from_path = resolve_caches(str(fake_cache_root))
    assert from_map.named_levels() == from_path.named_levels()
    assert resolve_caches(from_map) is from_map
    with pytest.raises(TypeError, match="caches must be"):
        resolve_caches(42)
    with pytest.raises(ValueError, match="cache key"):
        CacheHierarchy.from_sizes({"L9x": 1})


def test_this_machine_has_readable_caches_or_says_why():
    try:
        caches = read_caches()
    except MachineInfoError as err:  # containers without the sysfs cache tree
        assert "pass caches=" in str(err)
    else:
        assert caches.llc and caches.llc >= (caches.l1d or 0)
