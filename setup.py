"""Build hook: fetch the console's third-party browser code from the npm registry.

Two packages, none of them committed (`NPM_PACKAGES`): elkjs, which lays the statechart
drawing out, and swagger-ui-dist, which draws the API's docs page (`/api/docs`). Every build
(a wheel, `pip install .`, `pip install -e .`) downloads each release tarball from the npm
registry by exact version, checks its sha512 integrity hash (the one `npm view NAME@VERSION
dist` prints), and extracts the files the server needs, with their licences, into the
package's `console/static/vendor/` (served at `/static/vendor/`). Each extracted file is
checked against its sha256 too. A package whose files are already there with the expected
hashes is kept, so rebuilding needs no network; a tarball that fails a check writes nothing.

A wheel also carries the example files `statewright demo` runs (`DEMO_EXAMPLES`, copied from
`examples/` into the package's `cli/demo/examples/`), so that the demo works where statewright
is installed, not only in a checkout.

The rest of the project's metadata is in pyproject.toml.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


@dataclass(frozen=True)
class NpmPackage:
    """One npm release: where its tarball is, its integrity hash, and the files taken from it.

    `files` maps each name written into the vendor folder to its member of the tarball and
    the sha256 of that member's content (to tell a complete earlier download from a partial
    one, and to catch a release republished under the same version with other files).
    """

    name: str
    version: str
    integrity: str
    files: dict[str, tuple[str, str]]
    url: str = ""

    def __post_init__(self) -> None:
        if not self.url:
            tarball = f"{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"
            object.__setattr__(self, "url", f"https://registry.npmjs.org/{self.name}/-/{tarball}")


ELKJS_VERSION = "0.12.1"
ELKJS = NpmPackage(
    name="elkjs",
    version=ELKJS_VERSION,
    integrity=(
        "sha512-"
        "IhMYKHE4S2vtx0QrhBP3lYOIKDeIiJXBrdq9MGYkuB8ZHqhrBnHNfSUndjXFewrX1CPK8chwq+2NA0K0hliYuw=="
    ),
    files={
        "elk.bundled.js": (
            "package/lib/elk.bundled.js",
            "b1032b7cfd2a57c54c6f0e8369d7665e19a579954f7cd20a6dae28f1912ea0d7",
        ),
        "elkjs-LICENSE.md": (
            "package/LICENSE.md",
            "637e81f4a1b6b4079535c499fca05e238cf7605c1ff5b76d60d7da7ce96700c9",
        ),
    },
)
SWAGGER_UI_VERSION = "5.35.0"
SWAGGER_UI = NpmPackage(
    name="swagger-ui-dist",
    version=SWAGGER_UI_VERSION,
    integrity=(
        "sha512-"
        "U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
    ),
    files={
        "swagger-ui-bundle.js": (
            "package/swagger-ui-bundle.js",
            "e6a898692f2d768e807c3ba4626068a69a2c5dd960dd6c76f3e4d3a3de180af2",
        ),
        "swagger-ui.css": (
            "package/swagger-ui.css",
            "5ed08757e53da3e026d6cbecc61fe5d43585c9560b302d534ad56692519a273d",
        ),
        # Apache-2.0: the licence and the NOTICE go with the code, and so do the licences of
        # the libraries the bundle holds (its first line points at this file by this name).
        "swagger-ui-dist-LICENSE": (
            "package/LICENSE",
            "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30",
        ),
        "swagger-ui-dist-NOTICE": (
            "package/NOTICE",
            "0d20d1adef18aee3f40dd258172155521ce702ac445cb5f7b7d60ed32dad2fb2",
        ),
        "swagger-ui-bundle.js.LICENSE.txt": (
            "package/swagger-ui-bundle.js.LICENSE.txt",
            "37eb6e7e59aed57b2c1acf076574b818ea07b74265717e0bd67b59e0baf9abbb",
        ),
    },
)
#: Every package the build fetches; each is fetched (or kept) on its own.
NPM_PACKAGES = (ELKJS, SWAGGER_UI)
ROOT = Path(__file__).resolve().parent
VENDOR = Path("statewright", "console", "static", "vendor")
#: The files of `examples/` that `statewright demo` reads (the demo's `machines.FILES`), and
#: where a wheel carries them.
DEMO_EXAMPLES = (
    "order/order.json",
    "approval/approval.json",
    "intake/intake.json",
    "order/steps.py",
    "approval/steps.py",
    "intake/schedules.json",
)
DEMO_EXAMPLES_IN_PACKAGE = Path("statewright", "cli", "demo", "examples")


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _download(package: NpmPackage) -> bytes:
    fix = (
        "check the network connection to the npm registry (a proxy goes in HTTPS_PROXY), "
        f"or place {', '.join(package.files)} from that tarball in "
        f"src/{VENDOR.as_posix()}/ yourself, then build again"
    )
    try:
        with urllib.request.urlopen(package.url, timeout=60) as response:
            data: bytes = response.read()
    except (urllib.error.URLError, OSError) as error:
        raise SystemExit(
            f"statewright build: could not download {package.url}: {error}; {fix}"
        ) from None
    algorithm, _, expected = package.integrity.partition("-")
    found = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if found != expected:
        raise SystemExit(
            f"statewright build: {package.url} does not match its integrity hash "
            f"(expected {package.integrity}, got {algorithm}-{found}); the download was "
            f"corrupted or tampered with: nothing was written; {fix}"
        )
    return data


def fetch_package(target: Path, package: NpmPackage) -> None:
    """Write `package`'s files into `target` unless every one is already there with its hash."""
    if all(_sha256(target / name) == digest for name, (_, digest) in package.files.items()):
        return
    data = _download(package)
    contents = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for name, (member, digest) in package.files.items():
            try:
                extracted = archive.extractfile(member)
            except KeyError:
                extracted = None
            if extracted is None:
                raise SystemExit(
                    f"statewright build: {package.url} holds no {member}: nothing was "
                    f"written; update {package.name}'s files in setup.py with the version"
                )
            content = extracted.read()
            if hashlib.sha256(content).hexdigest() != digest:
                raise SystemExit(
                    f"statewright build: {member} in {package.url} is not the file this build "
                    f"expects (sha256 {digest}): nothing was written; update {package.name}'s "
                    "files in setup.py with the version"
                )
            contents[name] = content
    target.mkdir(parents=True, exist_ok=True)
    for name, content in contents.items():
        partial = target / (name + ".partial")
        partial.write_bytes(content)
        partial.replace(target / name)


def fetch_vendor(target: Path) -> None:
    """Write every package of `NPM_PACKAGES` into `target` (each kept when already intact)."""
    for package in NPM_PACKAGES:
        fetch_package(target, package)


def copy_demo_examples(examples: Path, build_lib: Path) -> None:
    """Copy the `DEMO_EXAMPLES` files of `examples` into the built package."""
    missing = [name for name in DEMO_EXAMPLES if not (examples / name).is_file()]
    if missing:
        raise SystemExit(
            f"statewright build: {examples} lacks {', '.join(missing)}, which the wheel carries "
            "for `statewright demo`; build from a complete checkout or source distribution"
        )
    target = build_lib / DEMO_EXAMPLES_IN_PACKAGE
    for name in DEMO_EXAMPLES:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes((examples / name).read_bytes())


class BuildPyWithVendor(build_py):
    """`build_py` that first fetches the npm packages into the source tree, then copies their
    files, and the demo's example files, as package data.

    An editable install (`pip install -e .`) runs this too: the npm files land in the source
    tree the install points at; the demo reads the checkout's `examples/` there.
    """

    def run(self) -> None:
        source = ROOT / "src" / VENDOR
        fetch_vendor(source)
        super().run()
        if not self.editable_mode:
            built = Path(self.build_lib) / VENDOR
            built.mkdir(parents=True, exist_ok=True)
            for package in NPM_PACKAGES:
                for name in package.files:
                    self.copy_file(str(source / name), str(built / name))
            copy_demo_examples(ROOT / "examples", Path(self.build_lib))


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import it
    setup(cmdclass={"build_py": BuildPyWithVendor})
