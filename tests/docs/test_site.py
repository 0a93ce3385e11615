"""The documentation site builds offline with warnings as errors, and shows every example file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.M)
UNREACHABLE_PROXY = "http://127.0.0.1:9"


def _config() -> dict[str, object]:
    # mkdocs.yml may hold !!python tags in other projects; this one is plain YAML.
    loaded = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _nav_pages(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return []


def _included_files() -> set[str]:
    return {name for page in DOCS.rglob("*.md") for name in SNIPPET.findall(page.read_text())}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built with every proxy pointing nowhere: the build must not need the network."""
    out = tmp_path_factory.mktemp("site")
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        **{name: UNREACHABLE_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
    }
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_the_theme_fetches_no_fonts_and_no_social_cards() -> None:
    config = _config()
    theme = config["theme"]
    assert isinstance(theme, dict) and theme["font"] is False
    plugins = config["plugins"]
    assert isinstance(plugins, list)
    names = {plugin if isinstance(plugin, str) else next(iter(plugin)) for plugin in plugins}
    assert "social" not in names and "privacy" not in names


def test_every_example_file_is_shown_on_a_page() -> None:
    examples = {str(path.relative_to(EXAMPLES)) for path in EXAMPLES.rglob("*.py")}
    assert examples - _included_files() == set()


# Pages whose Python blocks are not included from docs/examples, and why.
NOT_RUN_HERE = {"production.md": "it starts PostgreSQL and SeaweedFS, which the default suite does not"}
PYTHON_BLOCK = re.compile(r"```python[^\n]*\n(.*?)```", re.S)


def test_every_python_example_on_a_page_is_an_included_file() -> None:
    inline = [
        str(page.relative_to(DOCS))
        for page in DOCS.rglob("*.md")
        if str(page.relative_to(DOCS)) not in NOT_RUN_HERE
        for block in PYTHON_BLOCK.findall(page.read_text())
        if not SNIPPET.fullmatch(block.strip())
    ]
    assert inline == [], "write the example as a file under docs/examples/ and include it with --8<--"


def test_every_page_is_in_the_navigation() -> None:
    pages = {str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md")}
    assert pages == set(_nav_pages(_config()["nav"]))


def test_the_site_has_every_page_and_no_web_fonts(site: Path) -> None:
    built = sorted(site.rglob("index.html"))
    assert len(built) == len(_nav_pages(_config()["nav"]))
    html = "".join(path.read_text() for path in built)
    assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html
    assert "--8&lt;--" not in html, "a snippet was not expanded"


def test_the_reference_is_generated_from_the_docstrings(site: Path) -> None:
    reference = (site / "reference" / "namespaces" / "index.html").read_text()
    for anchor in (
        "flow_sdk.flow_sdk.FlowSDK",
        "flow_sdk.flow_sdk.FlowSDK.bind_request_context",
        "flow_sdk.namespaces.gateway.GatewayNamespace.chat_completion",
    ):
        assert f'id="{anchor}"' in reference
    platform = (site / "reference" / "platform_client" / "index.html").read_text()
    assert 'id="flow_sdk.platform_client.PlatformClient.execute_code_block"' in platform
