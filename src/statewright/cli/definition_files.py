"""The definition file a command's PATH argument names (`validate`, `paths`, `diagram`): a
file, a folder holding one, or, in a project, the id of one of its definitions, as `start`
takes it."""

from __future__ import annotations

import difflib
from pathlib import Path

from statewright.cli.machines_file import shown_path
from statewright.cli.project import Project
from statewright.definitions import read_definition
from statewright.errors import DefinitionError, Fault

__all__ = ["DEFINITION_HELP", "definition_file"]

#: The help of the commands' PATH argument.
DEFINITION_HELP = (
    "A machine definition: .json, .yaml or .yml (or a folder holding one); in a project, "
    "also a definition id."
)

#: The suffixes of definition files, as `Machine.load` reads them.
_SUFFIXES = (".json", ".yaml", ".yml")


def definition_file(path: Path, project: Project | None = None) -> Path:
    """The definition file `path` names: itself, or in a folder its one `machine.json`
    (`.yaml`, `.yml`) or `<folder name>.json` (as `Machine.load` finds it, the name of `.`
    included). When nothing is at `path` and `project` is given, the definition of the
    project's definitions folder whose id (else whose file stem) is `path`.

    Raises:
        DefinitionError: no such file (naming a close near miss beside it, if any, and the
            project's definition ids), or a folder without exactly one of those files
            (naming the folder and the files it expected, and the definition files there are).
    """
    if not path.exists():
        return _in_project(path, project)
    if not path.is_dir():
        return path
    folder = path.resolve()
    expected = ("machine", folder.name)
    found = [p.name for p in _definitions_in(folder) if p.stem in expected and p.parent == folder]
    if len(found) == 1:
        return path / found[0]
    wanted = f"machine.json/.yaml or {folder.name}.json/.yaml"
    if found:
        message = f"the folder {folder} holds {', '.join(found)}; expected only one of {wanted}"
        fix = "pass the file itself"
    else:
        message = f"the folder {folder} holds no {wanted}"
        there = [str(path / p.relative_to(folder)) for p in _definitions_in(folder, depth=2)]
        fix = (
            f"pass a definition file, e.g. {', '.join(there[:3])}"
            if there
            else "pass a definition file (.json, .yaml or .yml)"
        )
    raise DefinitionError([Fault(str(path), message, fix)])


def _in_project(path: Path, project: Project | None) -> Path:
    """The file of the project's definition whose id (else whose file stem) is `path`.

    Raises:
        DefinitionError: no such file: none is, or no project (see `_missing_fix`).
    """
    files = _project_files(project)
    ids = {file: _definition_id(file) for file in files}
    name = str(path)
    by_id = [file for file in files if ids[file] == name]
    by_stem = [file for file in files if file.stem == name]
    if by_id or by_stem:
        return shown_path((by_id or by_stem)[0])
    fix = _missing_fix(path, sorted(set(ids.values())))
    raise DefinitionError([Fault(str(path), "no such file", fix)])


def _project_files(project: Project | None) -> list[Path]:
    """The definition files of the project's definitions folder ([] outside a project or
    without the folder)."""
    if project is None or project.definitions is None or not project.definitions.is_dir():
        return []
    return _definitions_in(project.definitions)


def _definition_id(file: Path) -> str:
    """The definition's id; its file stem if it cannot be read or has none."""
    try:
        definition_id = read_definition(file).get("id")
    except DefinitionError:
        return file.stem
    return definition_id if isinstance(definition_id, str) and definition_id else file.stem


def _definitions_in(folder: Path, depth: int = 1) -> list[Path]:
    """The definition files in `folder` (and, with `depth` 2, in its folders), sorted."""
    files = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in _SUFFIXES]
    if depth > 1:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            files += _definitions_in(sub, depth - 1)
    return files


def _missing_fix(path: Path, ids: list[str]) -> str:
    """The fix for a path naming nothing: the file beside it with a close name, if one is,
    else to check the path; in a project, or to give one of its definition ids."""
    folder = path.parent
    near = _near_miss(path) if folder.is_dir() else None
    if not ids:
        if not folder.is_dir():
            return f"check the path: the folder {str(folder)!r} does not exist either"
        return f'did you mean "{near}"?' if near is not None else "check the path"
    an_id = f"a definition id of this project: {', '.join(ids)}"
    if near is not None:
        return f'did you mean "{near}"? Or give {an_id}'
    if not folder.is_dir():
        return f"check the path (the folder {str(folder)!r} does not exist either), or give {an_id}"
    return f"check the path, or give {an_id}"


def _near_miss(path: Path) -> Path | None:
    """The file beside a missing one whose name is close, if one is. Names are compared
    without their suffix, so that a shared ".json" alone makes no match."""
    folder = path.parent
    near = [p for p in folder.iterdir() if p.is_dir() or p.suffix.lower() in _SUFFIXES]
    by_stem = {p.stem: p.name for p in sorted(near, reverse=True)}  # order.json before .yaml
    close = difflib.get_close_matches(path.stem, by_stem, n=1, cutoff=0.75)
    return folder / by_stem[close[0]] if close else None
