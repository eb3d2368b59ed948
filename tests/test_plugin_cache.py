"""The entry-point scan cache (kaizen_core.plugins): reused while nothing was installed, rescanned after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

LIST_PLUGINS = (
    "import json, kaizen_core.plugins as p;"
    "print(json.dumps(sorted(i.distribution for i in p.get_registry().plugins if i.distribution.startswith('kaizen-cache-'))))"
)


def _install(site: Path, name: str) -> None:
    """A minimal installed distribution ``kaizen-cache-<name>`` with a ``kaizen`` entry point."""
    module = f"kaizen_cache_{name}"
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: kaizen-cache-{name}\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[kaizen]\ncache-{name} = {module}\n", encoding="utf-8")
    (site / f"{module}.py").write_text(
        "import kaizen_core\n\n@kaizen_core.hookimpl\ndef register_tools(register):\n    pass\n", encoding="utf-8"
    )


def _plugins(site: Path, cache: str, **extra: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "KAIZEN_PLUGIN_CACHE": cache, **extra}
    env.pop("KAIZEN_LOAD_PLUGINS", None)
    proc = subprocess.run([sys.executable, "-c", LIST_PLUGINS], env=env, capture_output=True, text=True, check=True)
    result: list[str] = json.loads(proc.stdout)
    return result


def test_cache_is_written_and_an_install_or_removal_is_seen(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    _install(site, "one")
    assert _plugins(site, str(cache)) == ["kaizen-cache-one"]
    (written,) = cache.glob("entry-points-*.json")
    assert "kaizen-cache-one" in written.read_text(encoding="utf-8")
    assert _plugins(site, str(cache)) == ["kaizen-cache-one"]  # from the cache
    _install(site, "two")  # a new dist-info changes the site directory's modification time
    assert _plugins(site, str(cache)) == ["kaizen-cache-one", "kaizen-cache-two"]
    (site / "kaizen_cache_one-0.1.dist-info" / "METADATA").unlink()
    (site / "kaizen_cache_one-0.1.dist-info" / "entry_points.txt").unlink()
    (site / "kaizen_cache_one-0.1.dist-info").rmdir()
    assert _plugins(site, str(cache)) == ["kaizen-cache-two"]


def test_cache_can_be_turned_off(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _install(site, "off")
    cache_home = tmp_path / "xdg"
    assert _plugins(site, "on", XDG_CACHE_HOME=str(cache_home)) == ["kaizen-cache-off"]
    assert list((cache_home / "kaizen").glob("entry-points-*.json"))  # the default place
    cache_home = tmp_path / "xdg-off"
    assert _plugins(site, "off", XDG_CACHE_HOME=str(cache_home)) == ["kaizen-cache-off"]
    assert not cache_home.exists()


def test_an_unreadable_cache_is_rescanned(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    _install(site, "bad")
    assert _plugins(site, str(cache)) == ["kaizen-cache-bad"]
    (written,) = cache.glob("entry-points-*.json")
    written.write_text("{not json", encoding="utf-8")
    assert _plugins(site, str(cache)) == ["kaizen-cache-bad"]
    assert json.loads(written.read_text(encoding="utf-8"))["entry_points"]  # rewritten


def test_a_rescan_removes_cache_files_unused_for_a_week(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    _install(site, "prune")
    cache.mkdir()
    old, recent = cache / "entry-points-0000000000000000.json", cache / "entry-points-1111111111111111.json"
    for path in (old, recent):
        path.write_text("{}", encoding="utf-8")
    week_ago = time.time() - 8 * 24 * 3600
    os.utime(old, (week_ago, week_ago))
    assert _plugins(site, str(cache)) == ["kaizen-cache-prune"]
    assert not old.exists() and recent.exists()
    assert len(list(cache.glob("entry-points-*.json"))) == 2  # the one just written and the recent one
