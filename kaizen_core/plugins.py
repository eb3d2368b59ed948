"""The plugin manager: entry-point discovery, registries, lazy targets.

One pluggy manager, one entry-point group (``kaizen``). Built-ins are registered by
:mod:`kaizen_core.builtins` through the same hooks as any plugin. Every
``register_*`` hook fills a :class:`Registry` keyed by kind and name; selecting a
name resolves its target (``"module:attr"``) on first use only.

``KAIZEN_LOAD_PLUGINS=a,b`` loads only those distributions (or entry-point names);
``KAIZEN_LOAD_PLUGINS=`` (set and empty) loads none: built-ins only.
The entry-point scan and the registry the ``register_*`` hooks build are cached between
processes (see :func:`_kaizen_entry_points` and :func:`get_registry`): a process whose
installed distributions and hook modules are unchanged gets its registry without importing
pluggy or any plugin. ``KAIZEN_PLUGIN_CACHE=off`` turns the cache off,
``KAIZEN_PLUGIN_CACHE=<dir>`` moves it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import logging
import os
import stat
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from kaizen_core.errors import PluginError, PluginNotInstalledError

if TYPE_CHECKING:
    from importlib import metadata

# pluggy, importlib.metadata and the plugins' modules are imported only when the registry is
# built from the hooks (a cache miss), or when get_plugin_manager() is asked for.

ENTRY_POINT_GROUP = "kaizen"
logger = logging.getLogger(__name__)
CORE_DISTRIBUTION = "kaizen-core"

#: hook name -> registry kind
KINDS: dict[str, str] = {
    "register_providers": "provider",
    "register_storage_backends": "storage",
    "register_memory_tiers": "memory_tier",
    "register_interrupt_handlers": "interrupt_handler",
    "register_tools": "tool",
    "register_tool_sources": "tool_source",
    "register_transports": "transport",
    "register_patterns": "pattern",
    "register_lifecycle_hooks": "lifecycle_hook",
    "register_executors": "executor",
    "register_cli_commands": "cli_command",
}

#: Where a well-known name comes from, for "pip install ..." hints.
KNOWN_PACKAGES: dict[tuple[str, str], str] = {
    ("provider", "openai"): "kaizen-openai",
    ("provider", "azure"): "kaizen-openai",
    ("provider", "docker"): "kaizen-openai",
    ("provider", "anthropic"): "kaizen-anthropic",
    ("provider", "ollama"): "kaizen-ollama",
    ("provider", "google"): "kaizen-google",
    ("provider", "gemini"): "kaizen-google",
    ("provider", "llamacpp"): "kaizen-llamacpp",
    ("provider", "sentence-transformers"): "kaizen-sentence-transformers",
    ("storage", "redis"): "kaizen-redis",
    ("storage", "postgresql"): "kaizen-postgres",
    ("storage", "postgres"): "kaizen-postgres",
    ("storage", "s3"): "kaizen-s3-storage",
    ("memory_tier", "redis"): "kaizen-redis",
    ("memory_tier", "postgresql"): "kaizen-postgres",
    ("memory_tier", "postgres"): "kaizen-postgres",
    ("memory_tier", "s3"): "kaizen-s3-storage",
    ("tool_source", "mcp"): "kaizen-mcp",
    ("executor", "ray"): "kaizen-ray",
}


def resolve_target(target: Any) -> Any:
    """Resolve a ``"module:attr"`` string (``attr`` may be dotted); objects pass through."""
    if not isinstance(target, str):
        return target
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise PluginError(f"invalid plugin target {target!r}", hint="use 'package.module:attribute'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except ImportError as exc:
        raise PluginNotInstalledError(
            f"cannot import {module_name!r} for plugin target {target!r}: {exc}",
            hint="install the plugin's dependencies",
        ) from exc
    except AttributeError as exc:
        raise PluginError(f"plugin target {target!r} does not exist: {exc}") from exc
    return obj


class Registration:
    """One named thing a plugin contributed. ``load()`` resolves the target once.

    A plain class rather than a dataclass: it is on every process's start-up path, where
    generating a dataclass's methods costs about a millisecond.
    """

    __slots__ = (
        "_loaded",
        "_lock",
        "aliases",
        "description",
        "distribution",
        "kind",
        "name",
        "options",
        "plugin",
        "target",
    )

    def __init__(
        self,
        kind: str,
        name: str,
        target: Any,
        distribution: str,
        plugin: str,
        description: str = "",
        aliases: tuple[str, ...] = (),
        options: dict[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.target = target
        self.distribution = distribution
        self.plugin = plugin
        self.description = description
        self.aliases = aliases
        self.options: dict[str, Any] = {} if options is None else options
        self._loaded: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"Registration(kind={self.kind!r}, name={self.name!r}, target={self.target!r}, "
            f"distribution={self.distribution!r}, plugin={self.plugin!r}, description={self.description!r}, "
            f"aliases={self.aliases!r}, options={self.options!r})"
        )

    @property
    def is_loaded(self) -> bool:
        return self._loaded is not None

    def load(self) -> Any:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = resolve_target(self.target)
        return self._loaded

    def describe(self) -> dict[str, Any]:
        target = self.target if isinstance(self.target, str) else _qualname(self.target)
        out: dict[str, Any] = {"name": self.name, "target": target, "distribution": self.distribution}
        if self.description:
            out["description"] = self.description
        if self.aliases:
            out["aliases"] = list(self.aliases)
        return out


def _qualname(obj: Any) -> str:
    mod = getattr(obj, "__module__", None) or type(obj).__module__
    name = getattr(obj, "__qualname__", None) or getattr(obj, "name", None) or type(obj).__qualname__
    return f"{mod}:{name}"


class PluginInfo(NamedTuple):
    """A loaded plugin: its distribution, version and the hooks it implements."""

    name: str
    distribution: str
    version: str
    hooks: list[str]


class Registry:
    """Every registration, by kind and name. Built by :func:`get_registry`."""

    def __init__(self) -> None:
        self._by_kind: dict[str, dict[str, Registration]] = {k: {} for k in KINDS.values()}
        self._aliases: dict[str, dict[str, str]] = {k: {} for k in KINDS.values()}
        self.plugins: list[PluginInfo] = []

    def add(self, reg: Registration) -> None:
        table = self._by_kind.setdefault(reg.kind, {})
        aliases = self._aliases.setdefault(reg.kind, {})
        for key in (reg.name, *reg.aliases):
            existing_name = key if key in table else aliases.get(key)
            if existing_name is not None:
                other = table[existing_name]
                raise PluginError(
                    f"{reg.kind} {key!r} is registered twice: by {other.distribution!r} "
                    f"(plugin {other.plugin!r}) and by {reg.distribution!r} (plugin {reg.plugin!r})",
                    hint="uninstall one of them, or restrict loading with KAIZEN_LOAD_PLUGINS",
                )
        table[reg.name] = reg
        for alias in reg.aliases:
            aliases[alias] = reg.name

    def names(self, kind: str) -> list[str]:
        return sorted(self._by_kind.get(kind, {}))

    def entries(self, kind: str) -> list[Registration]:
        return [self._by_kind[kind][n] for n in self.names(kind)]

    def find(self, kind: str, name: str) -> Registration | None:
        table = self._by_kind.get(kind, {})
        if name in table:
            return table[name]
        canonical = self._aliases.get(kind, {}).get(name)
        return table.get(canonical) if canonical else None

    def get(self, kind: str, name: str) -> Registration:
        """The registration for ``name``, or a KAIZEN_003 error listing what is installed."""
        reg = self.find(kind, name)
        if reg is not None:
            return reg
        installed = ", ".join(self.names(kind)) or "none"
        package = KNOWN_PACKAGES.get((kind, name))
        hint = f"pip install {package}" if package else "check the name or install the plugin that provides it"
        raise PluginNotInstalledError(
            f"no {kind.replace('_', ' ')} named {name!r} is installed (installed: {installed})",
            hint=hint,
            details={"kind": kind, "name": name, "installed": self.names(kind), "package": package},
        )

    def load(self, kind: str, name: str) -> Any:
        """Resolve and return the target registered as ``name``."""
        return self.get(kind, name).load()

    def describe(self) -> dict[str, Any]:
        """JSON-ready description, used by ``kaizen plugins --json``."""
        plugins = []
        for info in self.plugins:
            registered: dict[str, list[str]] = {}
            aliases: dict[str, dict[str, str]] = {}
            for kind, table in self._by_kind.items():
                own = [r for r in table.values() if r.plugin == info.name]
                if own:
                    registered[kind] = sorted(r.name for r in own)
                kind_aliases = {a: r.name for r in own for a in r.aliases}
                if kind_aliases:
                    aliases[kind] = dict(sorted(kind_aliases.items()))
            entry: dict[str, Any] = {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "hooks": info.hooks,
                "registered": registered,
            }
            if aliases:
                entry["aliases"] = aliases
            plugins.append(entry)
        return {"plugins": plugins}


def _allowlist() -> set[str] | None:
    raw = os.environ.get("KAIZEN_LOAD_PLUGINS")
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


#: The entry-point scan reads the metadata of every installed distribution (about 15 ms with
#: a hundred installed): its result is cached per interpreter in the user's cache directory,
#: keyed by the distributions' metadata directories on ``sys.path`` and the modification times
#: of the directories holding them (:func:`_path_state`), which change whenever a distribution
#: is installed, upgraded or removed. ``KAIZEN_PLUGIN_CACHE=off`` disables it, ``KAIZEN_PLUGIN_CACHE=<dir>`` moves it.
_CACHE_VERSION = 3
_CACHE_MAX_AGE = 7 * 24 * 3600.0
_CACHE_MAX_FILES = 64


def _cache_file() -> Path | None:
    setting = os.environ.get("KAIZEN_PLUGIN_CACHE", "")
    if setting.lower() in ("0", "off", "false", "no"):
        return None
    if setting and setting.lower() not in ("1", "on", "true", "yes"):
        base = Path(setting)  # a directory
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "kaizen"
    # One file per interpreter and sys.path, so programs with different paths (a script's own
    # directory comes first) do not overwrite each other's cache.
    key = "\0".join([sys.prefix, sys.executable, sys.version, *sys.path])
    return base / f"entry-points-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


#: A directory scanned at least this long after its last change is remembered by the cache
#: (``dirs``): the next process stats it and reuses the listing while it is unchanged. One that
#: changed more recently is listed again (an entry made in the same timestamp tick as the
#: listing would not change the modification time that the listing was recorded with).
_SETTLED_NS = 2 * 10**9


def _path_state(known: Any = None) -> tuple[list[list[Any]], dict[str, list[Any]]]:
    """What the scan depends on, and the directory listings behind it.

    The state: for each ``sys.path`` directory, the names of its distributions' metadata
    directories (``*.dist-info``, ``*.egg-info``) and, when it has any, the directory's
    modification time. Installing, upgrading, reinstalling or removing a distribution creates or
    removes such a directory, which changes both; files a program writes beside its script (a
    directory without distributions) do not.

    ``known`` is the previous process's ``dirs`` (from the cache file): ``{entry: [device, inode,
    mtime_ns, ctime_ns, names]}``. A directory whose ``stat`` still matches is not listed again:
    one ``stat`` per ``sys.path`` entry on a warm start instead of reading every directory
    (site-packages, the standard library: ~0.5 ms here). The returned ``dirs`` is what the next
    process may reuse (settled directories only, see ``_SETTLED_NS``).
    """
    known = known if isinstance(known, dict) else {}
    now = time.time_ns()
    state: list[list[Any]] = []
    dirs: dict[str, list[Any]] = {}
    for entry in sys.path:
        path = entry or "."
        try:
            st = os.stat(path)
        except OSError:
            state.append([entry, []])
            continue
        if not stat.S_ISDIR(st.st_mode):  # a zip file: its own modification time
            state.append([entry, [st.st_mtime_ns]])
            continue
        identity = [st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]
        seen = known.get(entry)
        if isinstance(seen, list) and len(seen) == 5 and seen[:4] == identity and isinstance(seen[4], list):
            names: list[Any] = seen[4]
        else:
            try:
                # stat before listing: a change during the listing leaves a newer time behind
                with os.scandir(path) as it:
                    names = sorted(d.name for d in it if d.name.endswith((".dist-info", ".egg-info")))
            except OSError:
                state.append([entry, []])
                continue
        if now - max(st.st_mtime_ns, st.st_ctime_ns) >= _SETTLED_NS:
            dirs[entry] = [*identity, names]
        state.append([entry, [*names, st.st_mtime_ns] if names else []])
    return state, dirs


def _scan_entry_points() -> list[tuple[str, str, str, str | None]]:
    """``(name, value, distribution, version)`` of every ``kaizen`` entry point installed."""
    from importlib import metadata

    found = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        version = None
        if ep.dist is not None:
            meta = ep.dist.metadata  # parsed once for both the name and the version
            dist, version = meta["Name"], meta["Version"]
        else:
            dist = ep.name
        found.append((ep.name, ep.value, dist, version))
    return found


def _read_cache(cache: Path | None) -> tuple[dict[str, Any] | None, list[list[Any]], dict[str, list[Any]]]:
    """``(data, state, dirs)``: the cache file's data when it was written for the current
    ``sys.path`` state (else None), that state and its directory listings (:func:`_path_state`)."""
    data: Any = None
    if cache is not None:
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None  # absent or unreadable
    if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION:
        data = None
    state, dirs = _path_state(data.get("dirs") if data is not None else None)
    if data is not None and data.get("path_state") != state:
        data = None
    return data, state, dirs


def _kaizen_entry_points() -> list[tuple[metadata.EntryPoint, str, str | None]]:
    """The installed ``kaizen`` entry points with their distribution and version, from the
    cache when the ``sys.path`` directories are as they were when it was written."""
    from importlib import metadata

    cache = _cache_file()
    data, state, dirs = _read_cache(cache)
    rows: list[tuple[str, str, str, str | None]] | None = None
    if data is not None:
        try:
            rows = [(r[0], r[1], r[2], r[3]) for r in data["entry_points"]]
        except (TypeError, KeyError, IndexError):
            rows = None  # malformed: scan
    if rows is None:
        rows = _scan_entry_points()
        if cache is not None:
            _write_cache(cache, {"version": _CACHE_VERSION, "path_state": state, "dirs": dirs, "entry_points": rows})
    return [(metadata.EntryPoint(name, value, ENTRY_POINT_GROUP), dist, version) for name, value, dist, version in rows]


def _write_cache(cache: Path, data: dict[str, Any]) -> None:
    """Write the cache atomically; a cache that cannot be written only costs the next start a scan."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, cache)
        # Files of paths not seen for a week (temporary directories, old venvs) go, and the
        # oldest beyond the newest _CACHE_MAX_FILES.
        stale = time.time() - _CACHE_MAX_AGE
        files = []
        for path in cache.parent.glob("entry-points-*.json"):
            with contextlib.suppress(OSError):
                files.append((path.stat().st_mtime, path))
        files.sort(reverse=True)
        for rank, (mtime, path) in enumerate(files):
            if mtime < stale or rank >= _CACHE_MAX_FILES:
                with contextlib.suppress(OSError):
                    path.unlink()
    except OSError as exc:
        logger.debug("plugin entry-point cache not written to %s: %s", cache, exc)


@functools.lru_cache(maxsize=64)
def _dist_version(dist: str) -> str:
    """Installed version of ``dist`` (each lookup scans sys.path, so it is cached)."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


class PluginManager:
    """Wraps pluggy's manager; remembers which distribution each plugin came from."""

    def __init__(self, *, load_entry_points: bool = True) -> None:
        import pluggy

        from kaizen_core import hookspecs

        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._dist_of: dict[str, str] = {}
        self._version_of: dict[str, str] = {}  # plugin name -> version read with its entry point
        from kaizen_core import builtins

        self.register(builtins, name=CORE_DISTRIBUTION, distribution=CORE_DISTRIBUTION)
        if load_entry_points:
            self._load_entry_points()

    def register(self, plugin: Any, *, name: str | None = None, distribution: str | None = None) -> str:
        """Register a plugin object (module or instance) and return its plugin name."""
        import pluggy

        plugin_name = name or getattr(plugin, "__name__", None) or repr(plugin)
        if self.pm.has_plugin(plugin_name):
            raise PluginError(f"a plugin named {plugin_name!r} is already registered")
        try:
            self.pm.register(plugin, name=plugin_name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {plugin_name!r} is invalid: {exc}") from exc
        self._dist_of[plugin_name] = distribution or plugin_name
        return plugin_name

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._dist_of.pop(name, None)
        self._version_of.pop(name, None)

    def _load_entry_points(self) -> None:
        allow = _allowlist()
        if allow is not None and not allow:
            return  # KAIZEN_LOAD_PLUGINS= : built-ins only, skip the entry-point scan entirely
        for ep, dist, version in _kaizen_entry_points():
            if dist == CORE_DISTRIBUTION:
                if version:
                    self._version_of.setdefault(CORE_DISTRIBUTION, version)
                continue
            if allow is not None and dist not in allow and ep.name not in allow:
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                module = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} from distribution {dist!r} failed to load: {exc}",
                    hint="reinstall it, or exclude it with KAIZEN_LOAD_PLUGINS",
                ) from exc
            self.register(module, name=ep.name, distribution=dist)
            if version:
                self._version_of[ep.name] = version

    def build_registry(self) -> Registry:
        """Call every ``register_*`` hook once and collect the registrations."""
        registry = Registry()
        # Plugin-provided hookspecs go in first so other plugins can implement them.
        for impl in self.pm.hook.register_hookspecs.get_hookimpls():
            impl.function(register=lambda _name, spec: self.pm.add_hookspecs(spec))
        self.pm.check_pending()
        for hook_name, kind in KINDS.items():
            caller = getattr(self.pm.hook, hook_name)
            # Call each implementation separately so every registration knows its source.
            for impl in reversed(caller.get_hookimpls()):
                plugin_name = impl.plugin_name
                dist = self._dist_of.get(plugin_name, plugin_name)

                def register(
                    name: str,
                    target: Any,
                    *,
                    description: str = "",
                    aliases: list[str] | tuple[str, ...] = (),
                    _kind: str = kind,
                    _plugin: str = plugin_name,
                    _dist: str = dist,
                    **options: Any,
                ) -> None:
                    if not isinstance(name, str) or not name:
                        raise PluginError(f"plugin {_plugin!r} registered a {_kind} with an invalid name {name!r}")
                    registry.add(
                        Registration(
                            kind=_kind,
                            name=name,
                            target=target,
                            distribution=_dist,
                            plugin=_plugin,
                            description=description,
                            aliases=tuple(aliases),
                            options=options,
                        )
                    )

                impl.function(register=register)
        for plugin_name, plugin in self.pm.list_name_plugin():
            hooks = sorted(h.name for h in (self.pm.get_hookcallers(plugin) or []) if h.name.startswith("register_"))
            dist = self._dist_of.get(plugin_name, plugin_name)
            version = self._version_of.get(plugin_name) or _dist_version(dist)
            registry.plugins.append(PluginInfo(plugin_name, dist, version, hooks))
        registry.plugins.sort(key=lambda p: (p.distribution != CORE_DISTRIBUTION, p.distribution, p.name))
        return registry

    def source_files(self) -> list[str] | None:
        """The files of every registered plugin's module (and of the hook contract), or None
        when a plugin has none (an object made at run time): what a cached registry depends on."""
        from kaizen_core import hookspecs

        files = [__file__, hookspecs.__file__]
        for _name, plugin in self.pm.list_name_plugin():
            module = plugin if isinstance(plugin, types.ModuleType) else sys.modules.get(type(plugin).__module__)
            path = getattr(module, "__file__", None)
            if not path:
                return None
            files.append(path)
        return sorted(set(files))


_lock = threading.RLock()
_manager: PluginManager | None = None
_registry: Registry | None = None
_extra: list[tuple[Any, str, str]] = []


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager (entry points loaded on first call)."""
    global _manager
    with _lock:
        if _manager is None:
            manager = PluginManager()
            for plugin, name, dist in _extra:
                manager.register(plugin, name=name, distribution=dist)
            _manager = manager
        return _manager


def get_registry() -> Registry:
    """The process-wide registry, built once from every loaded plugin.

    It is cached between processes with the entry-point scan (:func:`_cache_file`), keyed by
    the ``sys.path`` state, ``KAIZEN_LOAD_PLUGINS`` and the files of the modules implementing
    the hooks (their modification times and sizes): while those are unchanged, the registry is
    read back without importing pluggy or the plugins, whose hooks only describe what exists
    (``"module:attr"`` targets, JSON options). A registry with an object target or options
    JSON cannot represent, or one with plugins added by :func:`register_plugin`, is built from
    the hooks every time.
    """
    global _registry
    with _lock:
        if _registry is None:
            _registry = _load_registry()
        return _registry


def _allow_key() -> str:
    allow = _allowlist()
    return "*" if allow is None else ",".join(sorted(allow))


def _load_registry() -> Registry:
    """The registry from the cache when it is valid, else built from the hooks (and cached)."""
    cache = _cache_file() if not _extra else None
    if cache is not None:
        data, _, dirs = _read_cache(cache)
        cached = _cached_registry(data, _allow_key())
        if cached is not None:
            assert data is not None
            known = data.get("dirs")
            if not isinstance(known, dict) or any(entry not in known for entry in dirs):
                # a directory settled since the file was written: keep its listing for the next start
                _write_cache(cache, {**data, "dirs": dirs})
            return cached
    manager = get_plugin_manager()
    registry = manager.build_registry()
    if cache is not None:
        _store_registry(cache, registry, manager)
    return registry


def _file_state(path: str) -> list[Any]:
    st = os.stat(path)
    return [path, st.st_mtime_ns, st.st_size]


def _cached_registry(data: dict[str, Any] | None, allow_key: str) -> Registry | None:
    """The registry stored in the cache ``data`` for ``allow_key``, if its hook files are unchanged."""
    try:
        entry = (data or {}).get("registries", {}).get(allow_key)
        if entry is None or any(_file_state(f[0]) != f for f in entry["files"]):
            return None
        registry = Registry()
        for kind, name, target, dist, plugin, description, aliases, options in entry["registrations"]:
            registry.add(Registration(kind, name, target, dist, plugin, description, tuple(aliases), options))
        registry.plugins = [PluginInfo(name, dist, version, hooks) for name, dist, version, hooks in entry["plugins"]]
    except (OSError, ValueError, TypeError, KeyError, AttributeError, PluginError):
        return None  # malformed, or a hook file is gone: build from the hooks
    return registry


def _store_registry(cache: Path, registry: Registry, manager: PluginManager) -> None:
    """Add ``registry`` to the cache file, when everything in it survives a JSON round trip."""
    files = manager.source_files()
    if files is None:
        return
    rows = [
        [r.kind, r.name, r.target, r.distribution, r.plugin, r.description, list(r.aliases), r.options]
        for table in registry._by_kind.values()
        for r in table.values()
    ]
    if any(not isinstance(row[2], str) for row in rows):
        return  # an object target is resolved in process only
    try:
        if json.loads(json.dumps(rows)) != rows:
            return  # options a JSON round trip changes (tuples, non-string keys)
        entry = {
            "files": [_file_state(f) for f in files],
            "registrations": rows,
            "plugins": [[p.name, p.distribution, p.version, p.hooks] for p in registry.plugins],
        }
    except (TypeError, ValueError, OSError):
        return
    data, state, dirs = _read_cache(cache)
    if data is None:
        data = {"version": _CACHE_VERSION, "path_state": state}
    data["dirs"] = dirs
    registries = data.get("registries")
    data["registries"] = {**(registries if isinstance(registries, dict) else {}), _allow_key(): entry}
    _write_cache(cache, data)


def reset() -> None:
    """Forget the manager and registry; the next call rediscovers plugins (tests, env changes)."""
    global _manager, _registry
    with _lock:
        _manager = None
        _registry = None


def register_plugin(plugin: Any, *, name: str | None = None, distribution: str | None = None) -> str:
    """Register a plugin object for the rest of the process (without an entry point)."""
    plugin_name = name or getattr(plugin, "__name__", None) or repr(plugin)
    with _lock:
        _extra.append((plugin, plugin_name, distribution or plugin_name))
        reset()
    return plugin_name


def unregister_plugin(name: str) -> None:
    """Undo :func:`register_plugin`."""
    with _lock:
        _extra[:] = [e for e in _extra if e[1] != name]
        reset()


@contextlib.contextmanager
def plugin_registered(plugin: Any, *, name: str | None = None, distribution: str | None = None) -> Iterator[str]:
    """Register ``plugin`` for the duration of a ``with`` block (handy in tests)."""
    plugin_name = register_plugin(plugin, name=name, distribution=distribution)
    try:
        yield plugin_name
    finally:
        unregister_plugin(plugin_name)
