"""The build hook (setup.py) that fetches elkjs: it checks the integrity hash, writes nothing
on a mismatch, names the URL and the fix when it fails, and keeps a complete earlier
download without touching the network. Tested against local tarballs: no network."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from statewright.diagram.render import ELK_JS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]


def load_setup() -> ModuleType:
    spec = importlib.util.spec_from_file_location("statewright_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # runs no build: setup() is called only as __main__
    return module


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture
def setup_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """setup.py pointed at a local tarball holding a small fake elkjs."""
    module = load_setup()
    files = {"package/lib/elk.bundled.js": b"var ELK = 1;\n", "package/LICENSE.md": b"EPL-2.0\n"}
    data = tarball(files)
    source = tmp_path / "elkjs.tgz"
    source.write_bytes(data)
    monkeypatch.setattr(module, "ELKJS_URL", source.as_uri())
    monkeypatch.setattr(module, "ELKJS_INTEGRITY", sri(data))
    monkeypatch.setattr(
        module,
        "VENDOR_FILES",
        {
            "elk.bundled.js": (
                "package/lib/elk.bundled.js",
                hashlib.sha256(files["package/lib/elk.bundled.js"]).hexdigest(),
            ),
            "elkjs-LICENSE.md": (
                "package/LICENSE.md",
                hashlib.sha256(files["package/LICENSE.md"]).hexdigest(),
            ),
        },
    )
    return module


def test_the_build_extracts_the_bundle_and_its_licence(
    setup_module: ModuleType, tmp_path: Path
) -> None:
    target = tmp_path / "vendor"
    setup_module.fetch_vendor(target)
    assert (target / "elk.bundled.js").read_bytes() == b"var ELK = 1;\n"
    assert (target / "elkjs-LICENSE.md").read_bytes() == b"EPL-2.0\n"
    assert sorted(p.name for p in target.iterdir()) == ["elk.bundled.js", "elkjs-LICENSE.md"]


def test_a_complete_earlier_download_is_kept_without_the_network(
    setup_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "vendor"
    setup_module.fetch_vendor(target)
    monkeypatch.setattr(setup_module, "ELKJS_URL", (tmp_path / "gone.tgz").as_uri())
    setup_module.fetch_vendor(target)  # no download attempted: it would fail
    (target / "elk.bundled.js").write_bytes(b"half")
    with pytest.raises(SystemExit, match="could not download"):
        setup_module.fetch_vendor(target)


def test_a_tarball_failing_its_integrity_hash_writes_nothing(
    setup_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(setup_module, "ELKJS_INTEGRITY", sri(b"something else"))
    target = tmp_path / "vendor"
    with pytest.raises(SystemExit) as raised:
        setup_module.fetch_vendor(target)
    message = str(raised.value)
    assert setup_module.ELKJS_URL in message and "integrity hash" in message
    assert "nothing was written" in message and "place elk.bundled.js" in message
    assert not target.exists()


def test_an_unreachable_registry_names_the_url_and_the_fix(
    setup_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = (tmp_path / "missing.tgz").as_uri()
    monkeypatch.setattr(setup_module, "ELKJS_URL", url)
    with pytest.raises(SystemExit) as raised:
        setup_module.fetch_vendor(tmp_path / "vendor")
    assert url in str(raised.value) and "HTTPS_PROXY" in str(raised.value)


def test_the_installed_bundle_is_the_verified_release() -> None:
    files = load_setup().VENDOR_FILES
    digest = hashlib.sha256(ELK_JS.read_bytes()).hexdigest()
    assert digest == files["elk.bundled.js"][1]
    assert (ELK_JS.parent / "elkjs-LICENSE.md").is_file()
