"""PluginInfo.version: read with the entry point, or looked up for other distributions."""

from __future__ import annotations

from importlib import metadata
from types import SimpleNamespace

from kaizen_core import plugins


def test_every_discovered_plugin_reports_its_installed_version() -> None:
    plugins.reset()
    try:
        infos = plugins.get_registry().plugins
    finally:
        plugins.reset()
    assert infos and infos[0].distribution == "kaizen-core"
    for info in infos:
        assert info.version == metadata.version(info.distribution), info


def test_a_plugin_from_no_installed_distribution_has_an_unknown_version() -> None:
    plugin = SimpleNamespace(__name__="versionless")
    with plugins.plugin_registered(plugin, name="versionless", distribution="kaizen-no-such-dist"):
        info = next(p for p in plugins.get_registry().plugins if p.name == "versionless")
    assert (info.distribution, info.version) == ("kaizen-no-such-dist", "unknown")
