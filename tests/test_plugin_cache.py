"""The plugin cache (kaizen_core.plugins): the entry-point scan and the registry the hooks built are
reused while nothing was installed and no hook module changed, rebuilt after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LIST_PLUGINS = (
    "import json, kaizen_core.plugins as p;"
    "print(json.dumps(sorted(i.distribution for i in p.get_registry().plugins if i.distribution.startswith('kaizen-cache-'))))"
)


def _install(site: Path, name: str, hook_body: str = "pass") -> Path:
    """A minimal installed distribution ``kaizen-cache-<name>`` with a ``kaizen`` entry point;
    its module's ``register_tools`` hook runs ``hook_body``. Returns the module's file."""
    module = f"kaizen_cache_{name}"
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: kaizen-cache-{name}\nVersion: 0.1\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(f"[kaizen]\ncache-{name} = {module}\n", encoding="utf-8")
    source = site / f"{module}.py"
    source.write_text(_hook_module(hook_body), encoding="utf-8")
    return source


def _hook_module(hook_body: str) -> str:
    return f"import kaizen_core\n\n@kaizen_core.hookimpl\ndef register_tools(register):\n    {hook_body}\n"


#: The tools the test plugins registered, and which of pluggy and their modules were imported for it.
LIST_TOOLS = (
    "import json, sys, kaizen_core.plugins as p; r = p.get_registry();"
    "tools = {n: str(r.get('tool', n).target) for n in r.names('tool') if n.startswith('cached_')};"
    "loaded = sorted(m for m in sys.modules if m == 'pluggy' or m.startswith('kaizen_cache_'));"
    "print(json.dumps({'tools': tools, 'imported': loaded}))"
)


def _tools(site: Path, cache: Path, **extra: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(site), "KAIZEN_PLUGIN_CACHE": str(cache), **extra}
    if "KAIZEN_LOAD_PLUGINS" not in extra:
        env.pop("KAIZEN_LOAD_PLUGINS", None)
    proc = subprocess.run([sys.executable, "-c", LIST_TOOLS], env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


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


def test_a_cached_registry_imports_neither_pluggy_nor_the_plugins(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    _install(site, "lazy", 'register("cached_one", "kaizen_cache_lazy_impl:one", description="d", aliases=["c1"])')
    first = _tools(site, cache)  # built from the hooks, then cached
    assert first == {"tools": {"cached_one": "kaizen_cache_lazy_impl:one"}, "imported": ["kaizen_cache_lazy", "pluggy"]}
    assert _tools(site, cache) == {"tools": {"cached_one": "kaizen_cache_lazy_impl:one"}, "imported": []}


def test_an_edited_hook_module_is_seen_by_the_next_process(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    source = _install(site, "edit", 'register("cached_old", "m:old")')
    assert _tools(site, cache)["tools"] == {"cached_old": "m:old"}
    assert _tools(site, cache)["imported"] == []  # cached
    source.write_text(_hook_module('register("cached_new", "m:new")'), encoding="utf-8")
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))
    assert _tools(site, cache) == {"tools": {"cached_new": "m:new"}, "imported": ["kaizen_cache_edit", "pluggy"]}
    assert _tools(site, cache) == {"tools": {"cached_new": "m:new"}, "imported": []}


def test_each_plugin_selection_has_its_own_cached_registry(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    _install(site, "a", 'register("cached_a", "m:a")')
    _install(site, "b", 'register("cached_b", "m:b")')
    for _ in range(2):  # built, then cached: a selection never gets another selection's registry
        assert _tools(site, cache)["tools"] == {"cached_a": "m:a", "cached_b": "m:b"}
        assert _tools(site, cache, KAIZEN_LOAD_PLUGINS="kaizen-cache-b")["tools"] == {"cached_b": "m:b"}
        assert _tools(site, cache, KAIZEN_LOAD_PLUGINS="")["tools"] == {}
    assert _tools(site, cache, KAIZEN_LOAD_PLUGINS="kaizen-cache-b")["imported"] == []


def test_a_registry_with_an_object_target_is_built_from_the_hooks_every_time(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    _install(site, "obj", 'register("cached_obj", len)')
    for _ in range(2):
        assert _tools(site, cache) == {
            "tools": {"cached_obj": "<built-in function len>"},
            "imported": ["kaizen_cache_obj", "pluggy"],
        }


def test_a_settled_directory_is_not_listed_again_until_it_changes(tmp_path: Path, monkeypatch: Any) -> None:
    """A warm start stats each ``sys.path`` directory instead of listing it again (the listing is
    kept in the cache file); an install into a directory changes its stat, so it is listed again."""
    import kaizen_core.plugins as plugins

    site = tmp_path / "site"
    _install(site, "one")
    monkeypatch.setattr(sys, "path", [str(site)])
    monkeypatch.setattr(plugins, "_SETTLED_NS", 0)  # everything counts as settled (no waiting in a test)
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        listed.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    state, dirs = plugins._path_state()
    assert listed == [str(site)] and state == [[str(site), ["kaizen_cache_one-0.1.dist-info", site.stat().st_mtime_ns]]]
    assert plugins._path_state(json.loads(json.dumps(dirs))) == (state, dirs)  # as read back from the file
    assert listed == [str(site)]  # not listed again
    _install(site, "two")
    state2, _ = plugins._path_state(dirs)
    assert listed == [str(site), str(site)]
    assert state2[0][1][:2] == ["kaizen_cache_one-0.1.dist-info", "kaizen_cache_two-0.1.dist-info"]


def test_a_recently_changed_directory_is_listed_on_every_start(tmp_path: Path, monkeypatch: Any) -> None:
    """A directory changed less than the settle time ago is not remembered (a change in the same
    timestamp tick as the listing would go unseen), so the next start lists it again."""
    import kaizen_core.plugins as plugins

    site = tmp_path / "site"
    _install(site, "fresh")
    monkeypatch.setattr(sys, "path", [str(site)])
    monkeypatch.setattr(plugins, "_SETTLED_NS", 10**18)  # changed "just now", whatever the machine's speed
    state, dirs = plugins._path_state()
    assert dirs == {} and state[0][1][0] == "kaizen_cache_fresh-0.1.dist-info"
