"""The Chromium harness: a missing browser or driver fails with the install hint, never skips."""

from __future__ import annotations

import pytest

from kaizen_testing.servers import chromium
from kaizen_testing.servers._process import ServerUnavailable, serve_or_fail


def test_a_missing_chromedriver_fails_with_the_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    monkeypatch.setattr(chromium, "_DEBIAN_DIRS", [tmp_path])
    (tmp_path / "chromium").write_text("#!/bin/sh\n")  # the browser is there, its driver is not
    with pytest.raises(ServerUnavailable, match=r"chromedriver.*chromium-driver"):
        chromium.ChromiumBrowser(tmp_path)
    # The fixture's path: a pytest failure (Failed), not a skip.
    with pytest.raises(pytest.fail.Exception, match=r"install-system-deps\.sh"):
        next(serve_or_fail(chromium.run_chromium))


def test_the_fixture_is_served_by_the_pytest_plugin(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("kaizen")
    assert plugin.chromium_driver is chromium.chromium_driver
