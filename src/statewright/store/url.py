"""Store URLs: which backend, where, and with which options.

Accepted forms::

    sqlite:///relative/path.db           a file relative to the working directory
    sqlite:////absolute/path.db          an absolute path
        ?synchronous=full|normal         FULL (the default) survives power loss
        &busy_timeout=5000               ms to wait for the write lock
    postgresql://user:password@host:5432/dbname      (also postgres://)
        ?pool_min=1&pool_max=10          connection pool size
        &<libpq parameter>=...           anything else goes to libpq (sslmode, options, ...)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from statewright.errors import ConfigError

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = [
    "DEFAULT_URL",
    "URL_VARIABLE",
    "PostgresOptions",
    "SqliteOptions",
    "check_url",
    "open_store",
    "parse_postgres_url",
    "parse_sqlite_url",
    "redact_url",
    "resolve_url",
    "with_query",
]

#: The environment variable that names the store wherever a URL is not given.
URL_VARIABLE = "STATEWRIGHT_URL"
#: The store when neither a URL nor STATEWRIGHT_URL is given: a file in the working folder.
DEFAULT_URL = "sqlite:///statewright.db"

_FORMS = (
    "use sqlite:///relative/path.db or sqlite:////absolute/path.db "
    "(options ?synchronous=full|normal&busy_timeout=MS), "
    "or postgresql://user:password@host:5432/dbname (options ?pool_min=N&pool_max=N)"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SqliteOptions:
    """What a `sqlite:` URL says."""

    path: str
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    busy_timeout_ms: int = 5000


@dataclass(frozen=True, slots=True, kw_only=True)
class PostgresOptions:
    """What a `postgresql:` URL says; `conninfo` is the URL for libpq, pool options removed."""

    conninfo: str
    pool_min: int = 1
    pool_max: int = 10


def open_store(url: str, *, create: bool = True) -> Store:
    """Open the store a URL names. The schema is neither created nor migrated here.

    Args:
        url: a `sqlite:` or `postgresql:` URL (see the module docstring).
        create: create a SQLite file that does not exist (its folder must); when false, a
            missing file is an error that names the path (PostgreSQL databases are never
            created).

    Returns:
        A `SqliteStore` or a `PostgresStore`.

    Raises:
        ConfigError: the URL is not one of the accepted forms.
        StoreUnavailable: the database cannot be opened or reached.
        StoreError: the database cannot be used (no such SQLite file and not `create`, a
            missing folder, a damaged file, no permission).
    """
    scheme = url.partition(":")[0].lower()
    if scheme == "sqlite":
        from statewright.store.sqlite import SqliteStore

        return SqliteStore(parse_sqlite_url(url), url=url, create=create)
    if scheme in ("postgresql", "postgres"):
        from statewright.store.postgres import PostgresStore

        return PostgresStore(parse_postgres_url(url), url=url)
    raise _unknown_scheme(url)


def check_url(url: str) -> None:
    """Check that `url` is one of the accepted forms, opening nothing.

    Raises:
        ConfigError: as `open_store` for the same URL.
    """
    scheme = url.partition(":")[0].lower()
    if scheme == "sqlite":
        parse_sqlite_url(url)
    elif scheme in ("postgresql", "postgres"):
        parse_postgres_url(url)
    else:
        raise _unknown_scheme(url)


def resolve_url(url: str | None) -> str:
    """`url`, else the STATEWRIGHT_URL environment variable, else `DEFAULT_URL`."""
    if url:
        return url
    return os.environ.get(URL_VARIABLE) or DEFAULT_URL


def parse_sqlite_url(url: str) -> SqliteOptions:
    """Read a `sqlite:///path` URL.

    Raises:
        ConfigError: not a SQLite URL, no path, an in-memory database, or a bad option.
    """
    head, _, query = url.partition("?")
    if not head.lower().startswith("sqlite:///"):
        raise _bad(url, "a SQLite URL starts with sqlite:/// (three slashes)")
    path = unquote(head[len("sqlite:///") :])
    if not path or path.endswith("/"):
        raise _bad(url, "no database file named")
    if path == ":memory:" or path.startswith("file:"):
        raise _bad(url, "use a file: every connection must see the same database")
    options = _query(url, query, {"synchronous", "busy_timeout"})
    synchronous = options.get("synchronous", "full").upper()
    if synchronous not in ("FULL", "NORMAL"):
        raise _bad(url, f"synchronous={options['synchronous']!r} is not full or normal")
    busy = _integer(url, options, "busy_timeout", 5000, minimum=0)
    return SqliteOptions(
        path=path,
        synchronous="FULL" if synchronous == "FULL" else "NORMAL",
        busy_timeout_ms=busy,
    )


def parse_postgres_url(url: str) -> PostgresOptions:
    """Read a `postgresql://` URL; the pool options are taken out, the rest goes to libpq.

    Raises:
        ConfigError: not a PostgreSQL URL, or bad pool sizes.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a bad port raises ValueError here)
    except ValueError as error:
        raise _bad(url, str(error)) from None
    if parts.scheme.lower() not in ("postgresql", "postgres") or not url[
        len(parts.scheme) :
    ].startswith("://"):
        raise _bad(url, "a PostgreSQL URL starts with postgresql://")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    pool = {key: value for key, value in pairs if key in ("pool_min", "pool_max")}
    rest = [(key, value) for key, value in pairs if key not in ("pool_min", "pool_max")]
    pool_min = _integer(url, pool, "pool_min", 1, minimum=0)
    pool_max = _integer(url, pool, "pool_max", max(10, pool_min), minimum=1)
    if pool_min > pool_max:
        raise _bad(url, f"pool_min={pool_min} is larger than pool_max={pool_max}")
    conninfo = with_query(url, rest)
    return PostgresOptions(conninfo=conninfo, pool_min=pool_min, pool_max=pool_max)


def redact_url(url: str) -> str:
    """The URL without its password (in the user part or a `password=` parameter)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    user, _, host = parts.netloc.rpartition("@")
    if ":" not in user and all(key != "password" for key, _ in pairs):
        return url  # nothing to hide (and urlunsplit would rewrite sqlite:////abs paths)
    name = user.partition(":")[0]
    netloc = f"{name}@{host}" if name else host
    kept = [(key, value) for key, value in pairs if key != "password"]
    scheme_end = len(parts.scheme) + len("://")
    redacted = url[:scheme_end] + netloc + url[scheme_end + len(parts.netloc) :]
    return with_query(redacted, kept)


def with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    """`url` with its query string replaced by `pairs` (none: no query string).

    Done on the text: `urlunsplit` would turn `postgresql:///db` into `postgresql:/db`.
    Values are percent-encoded, a space as `%20`: libpq reads a `+` in a URL as a plus
    sign, so `options=-c statement_timeout=5s` must not become `-c+statement_timeout=5s`.
    """
    base = url.partition("?")[0].partition("#")[0]
    return f"{base}?{urlencode(pairs, quote_via=quote)}" if pairs else base


def _query(url: str, query: str, allowed: set[str]) -> dict[str, str]:
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise _bad(url, f"unknown option {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    return options


def _integer(url: str, options: dict[str, str], key: str, default: int, *, minimum: int) -> int:
    if key not in options:
        return default
    try:
        value = int(options[key])
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise _bad(url, f"{key}={options[key]!r} is not a whole number >= {minimum}")
    return value


#: A URL's scheme (RFC 3986), and a Windows drive, which reads as one.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
#: File name endings of SQLite databases.
_SQLITE_SUFFIXES = (".db", ".db3", ".sqlite", ".sqlite3")


def _unknown_scheme(url: str) -> ConfigError:
    """The error of a URL that is neither `sqlite:` nor `postgresql:`; for a file path given
    as it is (`/tmp/x/statewright.db`), the SQLite URL of that file."""
    path = _file_path(url)
    if path is None:
        return _bad(url, "unknown scheme")
    if path.startswith("/"):
        how = "the path: an absolute one gives four slashes"
    elif path.startswith("\\") or _DRIVE.match(path):
        how = "the path"
    else:
        how = "the relative path"
    suggested = "sqlite:///" + path.replace("%", "%25").replace("?", "%3F")
    return ConfigError(
        f"bad store URL {redact_url(url)!r}: a file path, not a URL; for a SQLite database "
        f"in that file use {suggested} (sqlite:/// then {how})"
    )


def _file_path(url: str) -> str | None:
    """The file path `url` looks like, when it has no scheme (a Windows drive aside): an
    absolute path, one starting with `.` or `~`, or one ending as SQLite files do (`.db`,
    `.sqlite`...); `~` expanded (a URL does not expand it). None for anything else
    (`db.internal/app` may be a host)."""
    text = url.strip()
    if not text or (_SCHEME.match(text) and not _DRIVE.match(text)):
        return None
    if not (
        text.startswith(("/", "\\", ".", "~"))
        or _DRIVE.match(text)
        or text.lower().endswith(_SQLITE_SUFFIXES)
    ):
        return None
    return os.path.expanduser(text) if text.startswith("~") else text


def _bad(url: str, reason: str) -> ConfigError:
    return ConfigError(f"bad store URL {redact_url(url)!r}: {reason}; {_FORMS}")
