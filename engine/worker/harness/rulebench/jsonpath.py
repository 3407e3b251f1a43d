"""The JSONPath subset Panther data models use for `Path` mappings.

Supported: `$` root, `.name`, `name` (implicit root), `"quoted.name"`,
`['name']`, `[n]`, `[*]`, `.*`, `..name` (recursive descent) and filters
`[?(@.field op literal)]` joined with `&` / `and`, where op is one of
== != < <= > >= and a bare `[?(@.field)]` tests presence.

find() returns (value, path) pairs; the path is written the way jsonpath_ng
prints a full path (`events.[0].parameters.[0].value`), which is what
`event.udm_path()` shows.
"""

import re

_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


class JSONPathError(ValueError):
    pass


class _Field:
    def __init__(self, name):
        self.name = name

    def apply(self, value, path):
        if isinstance(value, dict) and self.name in value:
            yield value[self.name], path + [self.name]


class _Wildcard:
    def apply(self, value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                yield item, path + [str(key)]
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield item, path + ["[%d]" % index]


class _Index:
    def __init__(self, index):
        self.index = index

    def apply(self, value, path):
        if isinstance(value, list):
            index = self.index if self.index >= 0 else len(value) + self.index
            if 0 <= index < len(value):
                yield value[index], path + ["[%d]" % index]


class _Descendant:
    """`..name`: the field at any depth below the current value."""

    def __init__(self, step):
        self.step = step

    def apply(self, value, path):
        stack = [(value, path)]
        while stack:
            current, current_path = stack.pop(0)
            for match in self.step.apply(current, current_path):
                yield match
            if isinstance(current, dict):
                stack.extend((v, current_path + [str(k)]) for k, v in current.items())
            elif isinstance(current, list):
                stack.extend((v, current_path + ["[%d]" % i]) for i, v in enumerate(current))


class _Filter:
    """`[?(...)]` over the items of a list (or the value itself if not a list)."""

    def __init__(self, conditions):
        self.conditions = conditions

    def apply(self, value, path):
        if isinstance(value, list):
            for index, item in enumerate(value):
                if self._matches(item):
                    yield item, path + ["[%d]" % index]
        elif isinstance(value, dict) and self._matches(value):
            yield value, path

    def _matches(self, item):
        for keys, op, literal in self.conditions:
            current = item
            present = True
            for key in keys:
                if isinstance(current, dict) and key in current:
                    current = current[key]
                else:
                    present = False
                    break
            if op is None:
                if not present:
                    return False
                continue
            if not present:
                return False
            try:
                if op == "==" and not current == literal:
                    return False
                if op == "!=" and not current != literal:
                    return False
                if op == "<" and not current < literal:
                    return False
                if op == "<=" and not current <= literal:
                    return False
                if op == ">" and not current > literal:
                    return False
                if op == ">=" and not current >= literal:
                    return False
            except TypeError:
                return False
        return True


class Path:
    def __init__(self, text, steps):
        self.text = text
        self.steps = steps

    def __str__(self):
        return self.text

    def find(self, data):
        matches = [(data, [])]
        for step in self.steps:
            matches = [m for value, path in matches for m in step.apply(value, path)]
            if not matches:
                break
        return [(value, ".".join(path)) for value, path in matches]


def _parse_literal(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if lowered in ("null", "none"):
        return None
    if _NUMBER.fullmatch(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    return text


def _parse_filter(body, text):
    body = body.strip()
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    conditions = []
    for part in re.split(r"\s*&&?\s*|\s+and\s+", body):
        part = part.strip()
        if not part:
            continue
        match = re.match(r"^@((?:\.[A-Za-z_$][\w$-]*|\['[^']*'\]|\[\"[^\"]*\"\])+)\s*(==|!=|<=|>=|<|>|=)?\s*(.*)$", part)
        if not match:
            raise JSONPathError("unsupported filter %r in JSONPath %r" % (part, text))
        keys = re.findall(r"\.([A-Za-z_$][\w$-]*)|\['([^']*)'\]|\[\"([^\"]*)\"\]", match.group(1))
        keys = [a or b or c for a, b, c in keys]
        op = match.group(2)
        if op == "=":
            op = "=="
        if op is None:
            if match.group(3).strip():
                raise JSONPathError("unsupported filter %r in JSONPath %r" % (part, text))
            conditions.append((keys, None, None))
        else:
            conditions.append((keys, op, _parse_literal(match.group(3))))
    return _Filter(conditions)


def compile_path(text):
    """Parse a data-model Path; raises JSONPathError on syntax it cannot handle."""
    if not isinstance(text, str) or not text.strip():
        raise JSONPathError("empty JSONPath")
    src = text.strip()
    steps = []
    i = 0
    n = len(src)
    if src.startswith("$"):
        i = 1
    expect_name = i == 0  # a path without `$` starts with a bare field name
    while i < n:
        c = src[i]
        if c == ".":
            if src.startswith("..", i):
                i += 2
                name, i = _read_name(src, i, text)
                steps.append(_Descendant(_Wildcard() if name == "*" else _Field(name)))
                continue
            i += 1
            expect_name = True
            continue
        if c == "[":
            end = _closing_bracket(src, i, text)
            inner = src[i + 1 : end].strip()
            i = end + 1
            if inner == "*":
                steps.append(_Wildcard())
            elif inner.startswith("?"):
                steps.append(_parse_filter(inner[1:], text))
            elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "\"'":
                steps.append(_Field(inner[1:-1]))
            elif re.fullmatch(r"-?\d+", inner):
                steps.append(_Index(int(inner)))
            else:
                raise JSONPathError("unsupported selector [%s] in JSONPath %r" % (inner, text))
            expect_name = False
            continue
        if expect_name:
            name, i = _read_name(src, i, text)
            steps.append(_Wildcard() if name == "*" else _Field(name))
            expect_name = False
            continue
        raise JSONPathError("unexpected %r at offset %d in JSONPath %r" % (c, i, text))
    return Path(text, steps)


def _read_name(src, i, text):
    if i < len(src) and src[i] in "\"'":
        quote = src[i]
        end = src.find(quote, i + 1)
        if end < 0:
            raise JSONPathError("unterminated quote in JSONPath %r" % text)
        return src[i + 1 : end], end + 1
    start = i
    while i < len(src) and src[i] not in ".[":
        i += 1
    name = src[start:i].strip()
    if not name:
        raise JSONPathError("missing field name at offset %d in JSONPath %r" % (start, text))
    return name, i


def _closing_bracket(src, i, text):
    depth = 0
    quote = None
    for j in range(i, len(src)):
        c = src[j]
        if quote:
            if c == quote:
                quote = None
            continue
        if c in "\"'":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return j
    raise JSONPathError("unbalanced [ in JSONPath %r" % text)
