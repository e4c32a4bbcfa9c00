"""Which names a template reads from its context, found by walking its nodes (not by rendering).

Rendering alone cannot catch a panel that reads a name it was not given: `{% if upcoming %}` and
`{% for x in upcoming %}` swallow a missing name silently, even with `string_if_invalid` set.
Walking the compiled template sees every variable, in every branch, whatever the data.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.template import engines
from django.template.base import FilterExpression, Node, NodeList, Token, TokenType, Variable
from django.template.loader_tags import IncludeNode
from django.template.smartif import TokenBase

# Attributes through which a tag binds a new name (for/with/as …), valid for the rest of it.
_BINDING_ATTRIBUTES = ("asvar", "target_var", "varname", "variable_name", "countervar")


@dataclass(frozen=True)
class Read:
    template: str
    lookups: tuple[str, ...]


def _values(value: object) -> Iterator[object]:
    if isinstance(value, dict):
        yield from value.values()
    elif isinstance(value, (list, tuple, NodeList)):
        yield from value
    else:
        yield value


def _reads_in(value: object, template: str, bound: set[str]) -> Iterator[Read]:
    """Variables read by one attribute value of a node (expressions, tokens, nested lists)."""
    if isinstance(value, FilterExpression):
        yield from _reads_in(value.var, template, bound)
        for _func, args in value.filters:
            for is_lookup, arg in args:
                if is_lookup:
                    yield from _reads_in(arg, template, bound)
    elif isinstance(value, Variable):
        if value.lookups and value.lookups[0] not in bound:
            yield Read(template, tuple(value.lookups))
    elif isinstance(value, Token):
        if value.token_type == TokenType.VAR:  # {% blocktranslate %}'s {{ name }}
            lookups = tuple(value.contents.strip().split("."))
            if lookups[0] not in bound:
                yield Read(template, lookups)
    elif isinstance(value, TokenBase):  # {% if %} conditions
        for part in ("value", "first", "second"):
            if hasattr(value, part):
                yield from _reads_in(getattr(value, part), template, bound)
    elif isinstance(value, Node):
        yield from _walk_node(value, template, bound)
    elif isinstance(value, (dict, list, tuple, NodeList)):
        for item in _values(value):
            yield from _reads_in(item, template, bound)


def _bound_by(node: Node) -> set[str]:
    names: set[str] = set(getattr(node, "loopvars", ()) or ())
    extra = getattr(node, "extra_context", None)
    if isinstance(extra, dict) and not isinstance(node, IncludeNode):
        names |= set(extra)
    for attribute in _BINDING_ATTRIBUTES:
        value = getattr(node, attribute, None)
        if isinstance(value, str) and value:
            names.add(value)
    if loopvars := getattr(node, "loopvars", None):
        names |= set(loopvars) | {"forloop"}
    return names


def _walk_node(node: Node, template: str, bound: set[str]) -> Iterator[Read]:
    for attribute, value in vars(node).items():
        if attribute in ("token", "origin", "template_name"):
            continue
        if isinstance(node, IncludeNode) and attribute == "template":
            name = value.var if isinstance(value, FilterExpression) else None
            if isinstance(name, str):  # a constant name: what it reads, the includer must give
                given = set(node.extra_context) if node.isolated_context else bound
                yield from _walk(name, given | set(node.extra_context))
            else:
                yield from _reads_in(value, template, bound)
            continue
        yield from _reads_in(value, template, bound)


def _walk(name: str, bound: set[str]) -> Iterator[Read]:
    yield from _walk_nodelist(engines["django"].engine.get_template(name).nodelist, name, bound)


def _walk_nodelist(nodelist: NodeList, name: str, bound: set[str]) -> Iterator[Read]:
    # A name bound anywhere in the template (for, with, as) counts as bound in all of it: a
    # simplification that can miss a read outside its block, never invent one.
    bound = bound | {
        bound_name for node in nodelist.get_nodes_by_type(Node) for bound_name in _bound_by(node)
    }
    for node in nodelist:
        yield from _walk_node(node, name, bound)


def reads(name: str) -> list[Read]:
    """Every variable the template `name` (and the templates it includes by a constant name)
    reads from the context it is rendered with, except the names it binds itself."""
    return list(_walk(name, set()))


def reads_in_source(source: str) -> list[Read]:
    """The same, for a template given as text (to test the walker itself)."""
    nodelist = engines["django"].from_string(source).template.nodelist
    return list(_walk_nodelist(nodelist, "<string>", set()))
