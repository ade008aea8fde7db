"""Build hook: fetch the console's one piece of third-party browser code, elkjs.

The statechart drawing lays charts out with elkjs. It is not committed: every build (a wheel,
`pip install .`, `pip install -e .`) downloads the release tarball from the npm registry by
exact version, checks its sha512 integrity hash (the one `npm view elkjs@0.12.1 dist` prints),
and extracts `lib/elk.bundled.js` and its licence into the package's `console/static/vendor/`.
A file already there with the expected hash is kept, so rebuilding needs no network.

The rest of the project's metadata is in pyproject.toml.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ELKJS_VERSION = "0.12.1"
ELKJS_URL = f"https://registry.npmjs.org/elkjs/-/elkjs-{ELKJS_VERSION}.tgz"
ELKJS_INTEGRITY = (
    "sha512-"
    "IhMYKHE4S2vtx0QrhBP3lYOIKDeIiJXBrdq9MGYkuB8ZHqhrBnHNfSUndjXFewrX1CPK8chwq+2NA0K0hliYuw=="
)
#: What the build writes, each from its member of the tarball, with its sha256 (of the
#: verified tarball's content), to tell a complete earlier download from a partial one.
VENDOR_FILES = {
    "elk.bundled.js": (
        "package/lib/elk.bundled.js",
        "b1032b7cfd2a57c54c6f0e8369d7665e19a579954f7cd20a6dae28f1912ea0d7",
    ),
    "elkjs-LICENSE.md": (
        "package/LICENSE.md",
        "637e81f4a1b6b4079535c499fca05e238cf7605c1ff5b76d60d7da7ce96700c9",
    ),
}
ROOT = Path(__file__).resolve().parent
VENDOR = Path("statewright", "console", "static", "vendor")


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _download() -> bytes:
    fix = (
        "check the network connection to the npm registry (a proxy goes in HTTPS_PROXY), "
        "or place elk.bundled.js and elkjs-LICENSE.md from that tarball in "
        f"src/{VENDOR.as_posix()}/ yourself, then build again"
    )
    try:
        with urllib.request.urlopen(ELKJS_URL, timeout=60) as response:
            data: bytes = response.read()
    except (urllib.error.URLError, OSError) as error:
        raise SystemExit(
            f"statewright build: could not download {ELKJS_URL}: {error}; {fix}"
        ) from None
    algorithm, _, expected = ELKJS_INTEGRITY.partition("-")
    found = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if found != expected:
        raise SystemExit(
            f"statewright build: {ELKJS_URL} does not match its integrity hash "
            f"(expected {ELKJS_INTEGRITY}, got {algorithm}-{found}); the download was "
            f"corrupted or tampered with: nothing was written. {fix}"
        )
    return data


def fetch_vendor(target: Path) -> None:
    """Write elkjs into `target` unless every file is already there with its hash."""
    if all(_sha256(target / name) == digest for name, (_, digest) in VENDOR_FILES.items()):
        return
    data = _download()
    contents = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for name, (member, digest) in VENDOR_FILES.items():
            extracted = archive.extractfile(member)
            if extracted is None:
                raise SystemExit(f"statewright build: {ELKJS_URL} holds no {member}")
            content = extracted.read()
            if hashlib.sha256(content).hexdigest() != digest:
                raise SystemExit(
                    f"statewright build: {member} in {ELKJS_URL} is not the file this build "
                    f"expects (sha256 {digest}): update VENDOR_FILES in setup.py with the version"
                )
            contents[name] = content
    target.mkdir(parents=True, exist_ok=True)
    for name, content in contents.items():
        partial = target / (name + ".partial")
        partial.write_bytes(content)
        partial.replace(target / name)


class BuildPyWithVendor(build_py):
    """`build_py` that first fetches elkjs into the source tree, then copies it as package data.

    An editable install (`pip install -e .`) runs this too: the files land in the source tree the
    install points at.
    """

    def run(self) -> None:
        source = ROOT / "src" / VENDOR
        fetch_vendor(source)
        super().run()
        if not self.editable_mode:
            built = Path(self.build_lib) / VENDOR
            built.mkdir(parents=True, exist_ok=True)
            for name in VENDOR_FILES:
                self.copy_file(str(source / name), str(built / name))


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import it
    setup(cmdclass={"build_py": BuildPyWithVendor})
