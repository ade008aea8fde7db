"""The 422 of a request FastAPI could not read into its route's parameters, in the API's own
terms: each offending field named with pydantic's message, then a fix that fits where the
field is.

- A body that does not parse as JSON: the parser's reason, with its position as line,
  column and character (FastAPI's own error names only the character offset, `body.20`).
- A body sent under a content type that is not JSON (`text/plain`, curl's default form
  type, none at all): the type received and `send Content-Type: application/json`. FastAPI
  reads such a body as bytes, and pydantic's "Input should be a valid dictionary" says
  nothing of why.
- A query, path, header or cookie parameter: fix that parameter; the advice for bodies only where
  the field is in the body.

The fast way of a send (`fast_send.py`) takes only `Content-Type: application/json` and
JSON it can read, and leaves everything else to the route: both answer with this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError

from statewright.api.problems import Problem

__all__ = ["invalid_request", "is_json_type"]

#: The fix of a body that is JSON but not of the route's shape.
_BODY_FIX = "send JSON (Content-Type: application/json) of the documented shape"
#: The fix of a body that is not JSON.
_NOT_JSON_FIX = "send a JSON object of the documented shape"
#: The fix of a body sent under another content type than JSON.
_TYPE_FIX = "send Content-Type: application/json with a JSON object of the documented shape"
#: Where a parameter is (FastAPI's first `loc` part), as a fix names it.
_PARAMETERS = {
    "query": "query parameter",
    "path": "path parameter",
    "header": "header",
    "cookie": "cookie",
}
#: Fields named in `detail`, at most (all are in `errors`).
_NAMED = 5
#: The longest content type named back, in characters.
_TYPE_CHARS = 100


def invalid_request(error: RequestValidationError, content_type: str | None) -> Problem:
    """The `invalid-request` problem of `error`, raised for a request whose `Content-Type`
    header is `content_type` (None: none was sent)."""
    errors = list(error.errors())
    wrong_type = _wrong_type(errors, error.body, content_type)
    found: list[dict[str, Any]] = []
    named: list[str] = []
    fixes: list[str] = []
    parameters: dict[str, list[str]] = {}
    if wrong_type is not None:
        found.append({"field": "body", "message": f"sent {wrong_type}, not as JSON"})
        named.append(f"the body was sent {wrong_type}, and is read only as JSON")
        fixes.append(_TYPE_FIX)
    for each in errors:
        loc = tuple(each.get("loc", ()))
        where = str(loc[0]) if loc else ""
        if where == "body" and wrong_type is not None:
            continue  # said once, above
        if _is_json_invalid(each, loc):
            reason = f"not JSON: {_parser_said(each, loc[1], error.body)}"
            found.append({"field": "body", "message": reason})
            named.append(f"the body is {reason}")
            fixes.append(_NOT_JSON_FIX)
            continue
        field = ".".join(str(part) for part in loc)
        found.append({"field": field, "message": each.get("msg")})
        named.append(f"{field}: {each.get('msg')}")
        if where in _PARAMETERS and len(loc) > 1:
            parameters.setdefault(where, []).append(str(loc[1]))
        else:
            fixes.append(_BODY_FIX)
    for where, names in parameters.items():
        unique = list(dict.fromkeys(names))
        kind = _PARAMETERS[where] + ("s" if len(unique) > 1 else "")
        fixes.append(f"fix the {kind} {', '.join(unique)}")
    if not fixes:
        fixes.append(_BODY_FIX)
    detail = "; ".join([*named[:_NAMED], *dict.fromkeys(fixes)])
    return Problem(422, "invalid-request", "Invalid request", detail, errors=found)


def is_json_type(content_type: str | None) -> bool:
    """Whether FastAPI reads a body under `content_type` as JSON: `application/json` or
    `application/*+json`, parameters aside (no type at all: no)."""
    if content_type is None:
        return False
    media = content_type.partition(";")[0].strip().lower()
    main, _, sub = media.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _wrong_type(
    errors: Sequence[Mapping[str, Any]], body: Any, content_type: str | None
) -> str | None:
    """How the body was sent (`with Content-Type: text/plain`, `without a Content-Type`)
    when a body field failed because it was not sent as JSON (FastAPI hands the route its
    bytes then); None when the content type is not the reason: it is JSON, no body field
    failed, or neither a type nor a body was sent (the body is missing, which its own error
    says)."""
    if is_json_type(content_type):
        return None
    if not any(each.get("loc", ("",))[:1] == ("body",) for each in errors):
        return None
    if content_type is None:
        return "without a Content-Type" if isinstance(body, bytes | bytearray) and body else None
    media = content_type.partition(";")[0].strip() or content_type.strip()
    media = media[:_TYPE_CHARS] + ("..." if len(media) > _TYPE_CHARS else "")
    return f"with Content-Type: {media}"


def _is_json_invalid(each: Mapping[str, Any], loc: tuple[Any, ...]) -> bool:
    """Whether this is FastAPI's error for a body `json.loads` refused: `json_invalid` at
    `("body", <character offset>)`."""
    return (
        each.get("type") == "json_invalid"
        and len(loc) == 2
        and loc[0] == "body"
        and isinstance(loc[1], int)
    )


def _parser_said(each: Mapping[str, Any], position: int, document: Any) -> str:
    """The parser's reason with its position in words, as `json.JSONDecodeError` puts it:
    `Expecting value at line 1, column 9 (character 8)`."""
    context = each.get("ctx")
    reason = str(context.get("error")) if isinstance(context, Mapping) else ""
    reason = reason or "it does not parse"
    if not isinstance(document, str):
        return f"{reason} at character {position}"
    line = document.count("\n", 0, position) + 1
    column = position - document.rfind("\n", 0, position)
    return f"{reason} at line {line}, column {column} (character {position})"
