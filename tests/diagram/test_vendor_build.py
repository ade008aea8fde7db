"""The build hook (setup.py) that fetches the npm packages (elkjs, swagger-ui-dist): it checks
each tarball's integrity hash and each file's sha256, writes nothing of a package that fails
a check, names the URL and the fix when it fails, and keeps a complete earlier download of
each package without touching the network. Tested against local tarballs: no network."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import importlib.util
import io
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from statewright.console import VENDOR
from statewright.diagram.render import ELK_JS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]

#: Small fakes of the two packages: each written name, its tarball member and content.
FAKES = {
    "elkjs": {
        "elk.bundled.js": ("package/lib/elk.bundled.js", b"var ELK = 1;\n"),
        "elkjs-LICENSE.md": ("package/LICENSE.md", b"EPL-2.0\n"),
    },
    "swagger-ui-dist": {
        "swagger-ui-bundle.js": ("package/swagger-ui-bundle.js", b"var SwaggerUIBundle;\n"),
        "swagger-ui.css": ("package/swagger-ui.css", b".swagger-ui{}\n"),
        "swagger-ui-dist-LICENSE": ("package/LICENSE", b"Apache-2.0\n"),
    },
}


def load_setup() -> ModuleType:
    spec = importlib.util.spec_from_file_location("statewright_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
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


def fake(module: ModuleType, folder: Path, name: str) -> object:
    """The package `name` of setup.py's table, pointed at a local tarball of its fake."""
    files = FAKES[name]
    data = tarball({member: content for member, content in files.values()})
    source = folder / f"{name}.tgz"
    source.write_bytes(data)
    real = next(p for p in module.NPM_PACKAGES if p.name == name)
    return dataclasses.replace(
        real,
        url=source.as_uri(),
        integrity=sri(data),
        files={
            written: (member, hashlib.sha256(content).hexdigest())
            for written, (member, content) in files.items()
        },
    )


@pytest.fixture
def setup_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """setup.py with its table pointed at local tarballs of small fake packages."""
    module = load_setup()
    monkeypatch.setattr(
        module, "NPM_PACKAGES", tuple(fake(module, tmp_path, name) for name in FAKES)
    )
    return module


def replace(module: ModuleType, monkeypatch: pytest.MonkeyPatch, name: str, **changes: str) -> None:
    """Change the package `name` in the module's table (its url or integrity)."""
    table = tuple(
        dataclasses.replace(p, **changes) if p.name == name else p for p in module.NPM_PACKAGES
    )
    monkeypatch.setattr(module, "NPM_PACKAGES", table)


def package(module: ModuleType, name: str) -> object:
    return next(p for p in module.NPM_PACKAGES if p.name == name)


def test_the_table_keeps_elkjs_and_adds_swagger_ui_with_their_licences() -> None:
    table = {p.name: p for p in load_setup().NPM_PACKAGES}
    assert sorted(table) == ["elkjs", "swagger-ui-dist"]
    elkjs, swagger = table["elkjs"], table["swagger-ui-dist"]
    assert elkjs.url == "https://registry.npmjs.org/elkjs/-/elkjs-0.12.1.tgz"
    assert swagger.url == (
        "https://registry.npmjs.org/swagger-ui-dist/-/swagger-ui-dist-5.35.0.tgz"
    )
    assert swagger.integrity.startswith("sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJ")
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-dist-LICENSE"} <= set(
        swagger.files
    )
    assert {"elk.bundled.js", "elkjs-LICENSE.md"} == set(elkjs.files)


def test_the_build_extracts_each_bundle_and_its_licence(
    setup_module: ModuleType, tmp_path: Path
) -> None:
    target = tmp_path / "vendor"
    setup_module.fetch_vendor(target)
    written = {name: content for files in FAKES.values() for name, (_, content) in files.items()}
    assert sorted(p.name for p in target.iterdir()) == sorted(written)
    for name, content in written.items():
        assert (target / name).read_bytes() == content


def test_a_complete_earlier_download_is_kept_without_the_network(
    setup_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "vendor"
    setup_module.fetch_vendor(target)
    replace(setup_module, monkeypatch, "elkjs", url=(tmp_path / "gone.tgz").as_uri())
    setup_module.fetch_vendor(target)  # no download attempted: it would fail
    (target / "elk.bundled.js").write_bytes(b"half")
    with pytest.raises(SystemExit, match="could not download"):
        setup_module.fetch_vendor(target)


def test_each_package_is_kept_or_fetched_on_its_own(
    setup_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "vendor"
    setup_module.fetch_vendor(target)
    # swagger-ui-dist is intact: its registry may be gone; elkjs is damaged: fetched again.
    replace(setup_module, monkeypatch, "swagger-ui-dist", url=(tmp_path / "gone.tgz").as_uri())
    (target / "elk.bundled.js").write_bytes(b"half")
    setup_module.fetch_vendor(target)
    assert (target / "elk.bundled.js").read_bytes() == b"var ELK = 1;\n"
    assert (target / "swagger-ui.css").read_bytes() == b".swagger-ui{}\n"


def test_a_tarball_failing_its_integrity_hash_writes_nothing(
    setup_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace(setup_module, monkeypatch, "elkjs", integrity=sri(b"something else"))
    target = tmp_path / "vendor"
    with pytest.raises(SystemExit) as raised:
        setup_module.fetch_vendor(target)
    message = str(raised.value)
    assert package(setup_module, "elkjs").url in message and "integrity hash" in message
    assert "nothing was written" in message and "place elk.bundled.js" in message
    assert not target.exists()


def test_a_second_package_failing_its_hash_writes_none_of_it_and_keeps_an_intact_copy(
    setup_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace(setup_module, monkeypatch, "swagger-ui-dist", integrity=sri(b"something else"))
    target = tmp_path / "vendor"
    with pytest.raises(SystemExit) as raised:
        setup_module.fetch_vendor(target)
    message = str(raised.value)
    assert package(setup_module, "swagger-ui-dist").url in message
    assert "integrity hash" in message and "place swagger-ui-bundle.js, swagger-ui.css" in message
    assert sorted(p.name for p in target.iterdir()) == ["elk.bundled.js", "elkjs-LICENSE.md"]
    # An intact copy already there is kept: the bad tarball is not even downloaded.
    intact = {name: content for name, (_, content) in FAKES["swagger-ui-dist"].items()}
    for name, content in intact.items():
        (target / name).write_bytes(content)
    setup_module.fetch_vendor(target)
    # A damaged copy with a bad tarball: the error, and no file of the copy is touched.
    (target / "swagger-ui.css").write_bytes(b"half")
    with pytest.raises(SystemExit, match="integrity hash"):
        setup_module.fetch_vendor(target)
    assert (target / "swagger-ui.css").read_bytes() == b"half"
    assert (target / "swagger-ui-bundle.js").read_bytes() == intact["swagger-ui-bundle.js"]
    assert not list(target.glob("*.partial"))


def test_a_file_not_matching_its_sha256_writes_nothing_and_names_the_fix(
    setup_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    swagger = package(setup_module, "swagger-ui-dist")
    files = dict(swagger.files)  # type: ignore[attr-defined]
    files["swagger-ui.css"] = ("package/swagger-ui.css", "0" * 64)
    monkeypatch.setattr(setup_module, "NPM_PACKAGES", (dataclasses.replace(swagger, files=files),))
    target = tmp_path / "vendor"
    with pytest.raises(SystemExit) as raised:
        setup_module.fetch_vendor(target)
    assert "package/swagger-ui.css" in str(raised.value) and "setup.py" in str(raised.value)
    assert not target.exists()
    files["swagger-ui.css"] = ("package/nope.css", "0" * 64)
    monkeypatch.setattr(setup_module, "NPM_PACKAGES", (dataclasses.replace(swagger, files=files),))
    with pytest.raises(SystemExit, match=r"holds no package/nope\.css"):
        setup_module.fetch_vendor(target)
    assert not target.exists()


def test_an_unreachable_registry_names_the_url_and_the_fix(
    setup_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = (tmp_path / "missing.tgz").as_uri()
    replace(setup_module, monkeypatch, "elkjs", url=url)
    with pytest.raises(SystemExit) as raised:
        setup_module.fetch_vendor(tmp_path / "vendor")
    assert url in str(raised.value) and "HTTPS_PROXY" in str(raised.value)


def test_the_installed_files_are_the_verified_releases() -> None:
    assert ELK_JS.parent == VENDOR
    for npm in load_setup().NPM_PACKAGES:
        for name, (_, digest) in npm.files.items():
            assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
