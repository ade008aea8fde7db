"""Tests for statewright.chart.expressions: the safe expression subset, its errors and limits."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statewright.chart.expressions import Expression, compile_expression
from statewright.errors import ExpressionError

CONTEXT: dict[str, object] = {
    "count": 3,
    "total": 500,
    "customer": None,
    "items": [10, 20, 30],
    "id": "A1",
    "name": " Bob ",
    "nested": {"deep": {"value": 7}},
}
EVENT: dict[str, object] = {"type": "SUBMIT", "priority": "high"}


def run(source: str, context: object = CONTEXT, event: object = EVENT) -> object:
    return compile_expression(source)(context, event)


def compile_error(source: str, names: tuple[str, ...] = ("context", "event")) -> str:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, names)
    return str(info.value)


def eval_error(source: str, context: object = CONTEXT) -> ExpressionError:
    expression = compile_expression(source)
    with pytest.raises(ExpressionError) as info:
        expression(context, EVENT)
    return info.value


# --- the public object -------------------------------------------------------------------


def test_expression_exposes_source_and_names() -> None:
    expression = compile_expression("context.count + 1", ("context", "event", "input"))
    assert isinstance(expression, Expression)
    assert expression.source == "context.count + 1"
    assert expression.names == ("context", "event", "input")
    assert "context.count + 1" in repr(expression)


def test_expression_is_immutable() -> None:
    expression = compile_expression("1")
    with pytest.raises(AttributeError):
        expression.source = "2"
    with pytest.raises(AttributeError):
        del expression.names
    with pytest.raises(AttributeError):
        expression.extra = 1


def test_arguments_are_positional_in_the_order_of_names() -> None:
    expression = compile_expression("input.a - context.a", ("input", "context"))
    assert expression({"a": 10}, {"a": 3}) == 7
    assert expression({"a": 3}, {"a": 10}) == -7


def test_wrong_number_of_arguments_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="takes"):
        compile_expression("context.count")(CONTEXT)


def test_the_same_expression_can_be_evaluated_many_times() -> None:
    expression = compile_expression("context.count * 2")
    assert [expression({"count": n}, {}) for n in range(4)] == [0, 2, 4, 6]


# --- literals and names ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("'text'", "text"),
        ("42", 42),
        ("2.5", 2.5),
        ("-3", -3),
        ("True", True),
        ("False", False),
        ("None", None),
        ("true", True),
        ("false", False),
        ("null", None),
    ],
)
def test_literals(source: str, expected: object) -> None:
    result = run(source)
    assert result == expected
    assert type(result) is type(expected)


def test_list_and_tuple_literals_evaluate_to_fresh_lists() -> None:
    expression = compile_expression("[1, context.count, (2, 3)]")
    first = expression(CONTEXT, EVENT)
    assert first == [1, 3, [2, 3]]
    assert expression(CONTEXT, EVENT) is not first


def test_dict_literal_with_string_keys() -> None:
    assert run('{"a": context.count, "b": [event.type]}') == {"a": 3, "b": ["SUBMIT"]}


def test_json_names_yield_to_a_name_of_the_same_spelling() -> None:
    assert compile_expression("null", ("null",))("shadowed") == "shadowed"


# --- lookups -----------------------------------------------------------------------------


def test_attribute_syntax_is_a_mapping_lookup() -> None:
    assert run("context.nested.deep.value") == 7
    assert run("event.priority") == "high"


def test_attribute_lookup_works_on_any_mapping() -> None:
    assert run("context.a.b", MappingProxyType({"a": MappingProxyType({"b": 1})})) == 1


def test_missing_keys_are_none() -> None:
    assert run("context.missing") is None
    assert run("context.nested.missing") is None
    assert run('context["missing"]') is None


def test_lookup_on_null_names_the_null_part_and_the_key() -> None:
    error = eval_error("context.customer.name")
    assert "context.customer is null; cannot read 'name'" in str(error)
    assert error.expression == "context.customer.name"


def test_lookup_on_a_null_name() -> None:
    assert "context is null; cannot read 'count'" in str(eval_error("context.count", None))


def test_lookup_on_a_non_mapping_is_an_error() -> None:
    assert "context.count is a number, not a mapping; cannot read 'x'" in str(
        eval_error("context.count.x")
    )


def test_attribute_syntax_never_reads_python_attributes() -> None:
    class Order:
        total = 5

    assert "not a mapping" in str(eval_error("context.total", Order()))


def test_subscript_with_a_key_and_with_a_computed_key() -> None:
    assert run('context["count"]') == 3
    assert run("context[event.kind]", {"x": 1}, {"kind": "x"}) == 1


def test_list_and_string_indexing() -> None:
    assert run("context.items[0]") == 10
    assert run("context.items[-1]") == 30
    assert run("context.id[1]") == "1"
    assert run("context.items[context.count - 2]") == 20


def test_index_out_of_range_is_none() -> None:
    assert run("context.items[3]") is None
    assert run("context.items[-4]") is None


def test_list_index_must_be_an_integer() -> None:
    assert "index it with an integer, not 'a'" in str(eval_error('context.items["a"]'))


def test_slices() -> None:
    assert run("context.items[1:]") == [20, 30]
    assert run("context.items[:-1]") == [10, 20]
    assert run("context.items[::2]") == [10, 30]
    assert run("context.id[0:1]") == "A"


def test_slice_errors() -> None:
    assert "only lists and strings can be sliced" in str(eval_error("context.nested[1:]"))
    assert "must be integers or null" in str(eval_error("context.items[0.5:]"))


# --- operators ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("context.count + 1", 4),
        ("context.count - 5", -2),
        ("context.count * 2", 6),
        ("context.count / 2", 1.5),
        ("context.count // 2", 1),
        ("context.count % 2", 1),
        ("context.count ** 2", 9),
        ("-context.count", -3),
        ("+context.count", 3),
        ("not context.count", False),
        ("'a' + context.id", "aA1"),
        ("context.items + [1]", [10, 20, 30, 1]),
        ("'ab' * 2", "abab"),
        ("2 * [0]", [0, 0]),
    ],
)
def test_arithmetic(source: str, expected: object) -> None:
    assert run(source) == expected


def test_and_or_return_an_operand_and_short_circuit() -> None:
    assert run("context.count and context.id") == "A1"
    assert run("0 or '' or context.id") == "A1"
    assert run("context.missing or 'default'") == "default"
    # the right side would fail if it were evaluated
    assert run("context.customer and context.customer.name") is None
    assert run("context.count or context.customer.name") == 3


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("context.count == 3", True),
        ("context.count != 3", False),
        ("context.count < 3", False),
        ("context.count <= 3", True),
        ("context.count > 2", True),
        ("context.count >= 4", False),
        ("20 in context.items", True),
        ("'count' in context", True),
        ("'x' not in context.id", True),
        ("1 == True", True),
    ],
)
def test_comparisons(source: str, expected: bool) -> None:
    assert run(source) is expected


def test_comparison_chains_short_circuit() -> None:
    assert run("0 < context.count < 10") is True
    assert run("0 < context.count < 3") is False
    assert run("5 < context.count < context.customer.name") is False  # never reads .name


def test_conditional_expression() -> None:
    assert run("'big' if context.total > 100 else 'small'") == "big"
    assert run("context.customer.name if false else 'safe'") == "safe"


def test_a_guard() -> None:
    assert run('context.total < 1000 and event.priority == "high"') is True
    assert run('context.total < 1000 and event.priority == "high"', event={}) is False


# --- f-strings ---------------------------------------------------------------------------


def test_f_string() -> None:
    assert run('f"order {context.id} shipped"') == "order A1 shipped"


def test_f_string_conversions() -> None:
    assert run('f"{context.id!r} {context.count!s} {context.customer}"') == "'A1' 3 None"


def test_f_string_format_spec_is_rejected() -> None:
    message = compile_error('f"{context.total:>10}"')
    assert "format specs" in message
    assert "round() or str()" in message


def test_f_string_ascii_conversion_is_rejected() -> None:
    assert "!s and !r" in compile_error('f"{context.id!a}"')


# --- functions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("len(context.items)", 3),
        ("min(context.items)", 10),
        ("max(1, context.count)", 3),
        ("abs(-context.count)", 3),
        ("round(2.567, 1)", 2.6),
        ("round(2.5)", 2),
        ("int('7')", 7),
        ("float(context.count)", 3.0),
        ("str(context.count)", "3"),
        ("bool(context.items)", True),
        ("sum(context.items)", 60),
        ("sum(context.items, 1.5)", 61.5),
        ("any([0, context.count])", True),
        ("all([1, context.customer])", False),
        ("sorted([3, 1, 2])", [1, 2, 3]),
        ("lower(context.id)", "a1"),
        ("upper(context.id)", "A1"),
        ("strip(context.name)", "Bob"),
        ("strip('xxaxx', 'x')", "a"),
        ("startswith(context.id, 'A')", True),
        ("endswith(context.id, 'A')", False),
        ("contains(context.items, 20)", True),
        ("contains(context.id, 'Z')", False),
    ],
)
def test_allowed_functions(source: str, expected: object) -> None:
    assert run(source) == expected


def test_string_functions_need_a_string() -> None:
    assert "lower() needs a string, got null" in str(eval_error("lower(context.customer)"))


def test_function_arity_is_checked_at_compile_time() -> None:
    assert "len() takes 1 argument, got 2" in compile_error("len(context.items, 1)")


# --- rejected constructs: each names the construct and the fix ---------------------------


@pytest.mark.parametrize(
    ("source", "construct", "fix"),
    [
        ("open('x')", "calls to 'open'", "allowed functions: abs, all, any"),
        ("context.items.count(1)", "calls to 'context.items.count'", "allowed functions"),
        ("len(x=1)", "keyword arguments", "by position"),
        ("len(*context.items)", "starred", "one by one"),
        ("lambda: 1", "lambda", "guard or action implementation"),
        ("[x for x in context.items]", "list comprehensions", "any(), all()"),
        ("{x for x in context.items}", "set comprehensions", "action"),
        ("{x: 1 for x in context.items}", "dict comprehensions", "action"),
        ("any(x for x in context.items)", "generator expressions", "pass a list"),
        ("(y := 1)", "walrus", "assign action"),
        ("await context", "'await'", "invoke an actor"),
        ("(yield)", "'yield'", "plain value"),
        ("{1, 2}", "set literals", "use a list"),
        ("context is None", "'is'", "x == null"),
        ("context is not None", "'is not'", "x != null"),
        ("~context.count", "'~'", "- + not"),
        ("context.count << 2", "'<<'", "+ - * / // % **"),
        ("context.a @ context.b", "'@'", "+ - * / // % **"),
        ("context.__class__", "'context.__class__'", "context['__class__']"),
        ("__import__", "names starting with '_'", "use context, event"),
        ("_private", "names starting with '_'", "use context, event"),
        ("{context.k: 1}", "dict key context.k", "string literals"),
        ("{**context}", "dict key **context", "string literals"),
        ("b'raw'", "bytes literals", "use a string"),
        ("1j", "complex literals", "use a string, a number"),
        ("...", "'...'", "null"),
        ("len", "'len' is a function", "len(x)"),
        ("context.a && event.b", "invalid syntax", "use 'and' instead of '&&'"),
        ("context.a || event.b", "invalid syntax", "use 'or' instead of '||'"),
        ("context.count = 1", "invalid syntax", "'==' compares"),
    ],
)
def test_rejected_construct(source: str, construct: str, fix: str) -> None:
    message = compile_error(source)
    assert construct in message
    assert fix in message


def test_did_you_mean_for_a_misspelled_name() -> None:
    assert "unknown name 'contxt'; did you mean 'context'?" in compile_error("contxt.total")
    assert "did you mean 'null'?" in compile_error("nul")
    assert "did you mean 'input'?" in compile_error("inptu", ("context", "input"))


def test_unknown_name_without_a_close_match_lists_the_names() -> None:
    assert "unknown name 'zzz'; use context, event, true, false, null" in compile_error("zzz")


def test_deep_nesting_is_an_expression_error() -> None:
    assert "nested too deeply" in compile_error("-" * 5000 + "1")


# --- errors: path, expression, chaining --------------------------------------------------


def test_compile_error_carries_the_path() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression("open()", path="states.review.on.APPROVE[0].guard")
    assert info.value.path == "states.review.on.APPROVE[0].guard"
    assert str(info.value).startswith("states.review.on.APPROVE[0].guard: expression 'open()'")


def test_evaluation_error_carries_the_path() -> None:
    expression = compile_expression("context.customer.name", path="states.a.entry[0]")
    with pytest.raises(ExpressionError, match=r"^states\.a\.entry\[0\]: expression"):
        expression(CONTEXT, EVENT)


@pytest.mark.parametrize(
    ("source", "cause", "text"),
    [
        ("context.count / 0", ZeroDivisionError, "division by zero"),
        ("context.id + 1", TypeError, "can only concatenate"),
        ("context.customer < 3", TypeError, "'<' not supported"),
        ("int(context.id)", ValueError, "invalid literal"),
        ("min([])", ValueError, "empty"),
    ],
)
def test_python_errors_are_wrapped_and_chained(
    source: str, cause: type[Exception], text: str
) -> None:
    error = eval_error(source)
    assert type(error.__cause__) is cause
    assert source in str(error)
    assert text in str(error)


def test_errors_raised_by_a_mapping_are_wrapped() -> None:
    class Broken(Mapping[str, object]):
        def __getitem__(self, key: str) -> object:
            raise RuntimeError("backend down")

        def __iter__(self) -> Iterator[str]:
            return iter(())

        def __len__(self) -> int:
            return 0

    error = eval_error("context.anything", Broken())
    assert isinstance(error.__cause__, RuntimeError)
    assert "backend down" in str(error)


# --- limits on huge results ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("2 ** 1001", "exponent 1001 is too large"),
        ("context.count ** 5000", "exponent 5000 is too large"),
        ("(2 ** 1000) ** 100", "over 10000 bits"),
        ("'x' * 100001", "over 100000 items"),
        ("100001 * 'x'", "over 100000 items"),
        ("[0] * 100001", "over 100000 items"),
        ("[[0] * 100000] * 2", "over 100000 items"),
        ("['x' * 60000] * 2", "over 100000 items"),
        ("'%0999999999d' % 1", "use an f-string"),
        ("round(5, -1000000000)", "from -100 to 100"),
        ("sum([[0] * 100000] * 1, [])", "start must be a number"),
    ],
)
def test_huge_results_are_refused(source: str, text: str) -> None:
    assert text in str(eval_error(source))


def test_repetition_up_to_the_limit_is_allowed() -> None:
    assert len(run("'x' * 100000")) == 100_000  # type: ignore[arg-type]
    assert len(run("[0] * 100000")) == 100_000  # type: ignore[arg-type]
    assert run("'x' * -1") == ""


# --- property: agrees with Python on arithmetic and comparisons over ints ------------------

_LEAVES = st.one_of(st.integers(-20, 20).map(str), st.sampled_from(["x", "y"]))
_POWERS = st.tuples(_LEAVES, st.integers(0, 3)).map(lambda t: f"({t[0]} ** {t[1]})")
_ARITHMETIC = st.sampled_from(["+", "-", "*", "/", "//", "%"])
_COMPARISON = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, _ARITHMETIC, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, _COMPARISON, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, _COMPARISON, children, _COMPARISON, children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]} {t[3]} {t[4]})"
        ),
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(st.sampled_from(["-", "+", "not "]), children).map(lambda t: f"({t[0]}{t[1]})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )


@settings(max_examples=400, deadline=None, database=None)
@given(
    source=st.recursive(st.one_of(_LEAVES, _POWERS), _extend, max_leaves=12),
    x=st.integers(-50, 50),
    y=st.integers(-50, 50),
)
def test_agrees_with_python_eval(source: str, x: int, y: int) -> None:
    expression = compile_expression(source, ("x", "y"))
    try:
        expected = eval(source, {"__builtins__": {}}, {"x": x, "y": y})  # the oracle, tests only
    except ArithmeticError as exc:
        with pytest.raises(ExpressionError) as info:
            expression(x, y)
        assert type(info.value.__cause__) is type(exc)
    else:
        result = expression(x, y)
        assert result == expected
        assert type(result) is type(expected)
