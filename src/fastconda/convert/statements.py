"""A meta.yaml's ``{% if %}`` blocks and ``{% set %}`` statements → line conditions and the v1 context.

conda-build runs a recipe's jinja from top to bottom, so a ``{% set %}`` inside ``{% if %}`` (or
followed by a selector) changes the value only where its condition holds. A v1 ``context`` holds one
value per name: a name set under a condition becomes one expression, ``${{ a if cond else b }}``,
composed when its block closes (``{% if %}`` / ``{% elif %}`` / ``{% else %}`` keep their order;
see :mod:`~fastconda.convert.context`). A block whose condition is a constant, or one v1 cannot write
(it reads a value v1 cannot hold, or needs Python), is decided now as conda-build's jinja decides it:
its statements run or vanish and its lines stay or go. Any other condition stays a v1 condition.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import jinja2

from fastconda.convert import expressions as ex
from fastconda.convert.context import (
    UNDEFINED,
    ContextVar,
    Frame,
    Saved,
    branch_truth,
    compose,
    ordered,
    paren,
)
from fastconda.convert.loaders import is_plain
from fastconda.convert.model import Warnings
from fastconda.convert.selectors import SelectorError, combine, negate, translate_selector
from fastconda.errors import ConvertError

_SET = re.compile(r"^\s*(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<expr>.+)$", re.DOTALL)


class Statements:
    """Runs the jinja statements of the line pass, in order; ``context`` is the v1 context so far."""

    def __init__(
        self,
        fail: Callable[[int, str], ConvertError],
        warnings: Warnings,
        read: list[Path],
        variables: frozenset[str],
    ) -> None:
        self.fail = fail
        self.warnings = warnings
        self.read = read  # files the loaders read, for the message of a value evaluated now
        self.variables = variables  # names the variant config defines: selector variables
        self.context: list[ContextVar] = []
        self.static: dict[str, object] = {}
        self.static_only: set[str] = set()
        self.frames: list[Frame] = []
        self.tested: dict[str, int] = {}  # context names an '{% if %}' kept for v1 reads: its line

    @property
    def block(self) -> str | None:
        """The condition of the lines at this point: every enclosing branch's not decided now."""
        return combine(*(f.current for f in self.frames if f.known is None))

    @property
    def skipping(self) -> bool:
        """The lines at this point are in a branch decided now as not taken."""
        return any(f.known is False for f in self.frames)

    def statement(self, keyword: str, body: str, origin: int) -> None:
        if keyword == "set":
            self.assign(body, origin)
        elif keyword == "if":
            cond, own = self._branch(body, origin)
            self.frames.append(Frame([cond], cond, [own], [own]))
        elif keyword in {"elif", "else"}:
            if not self.frames:
                raise self.fail(origin, f"'{{% {keyword} %}}' outside an '{{% if %}}' block")
            frame = self.frames[-1]
            self._close_branch(frame, frame.seen[-1] if len(frame.seen) > len(frame.branches) else None)
            # a branch decided now as not taken adds nothing to the conditions of the later ones
            earlier = [negate(c) for c, t in zip(frame.seen, frame.truths, strict=False) if t is not False]
            if keyword == "elif":
                cond, own = self._branch(body, origin)
                frame.seen.append(cond)
                frame.current = combine(*earlier) if own is True else combine(*earlier, cond)
                frame.truths.append(branch_truth(frame, own))
                frame.owns.append(own)
            else:
                frame.current = combine(*earlier)
                frame.truths.append(branch_truth(frame, True))
                frame.owns.append(True)
        elif keyword == "endif":
            if not self.frames:
                raise self.fail(origin, "'{% endif %}' without '{% if %}'")
            frame = self.frames.pop()
            is_else = len(frame.seen) == len(frame.branches)
            self._close_branch(frame, None if is_else else frame.seen[-1])
            self._compose(frame)
        else:
            self.warnings.add(f"jinja statement '{{% {keyword} %}}' has no v1 equivalent; dropped", origin)

    # -- expressions and selectors ----------------------------------------------------------------

    def condition(self, expr: str, origin: int) -> str:
        return self.translate(expr, origin, truthy=True)

    def translate(self, expr: str, origin: int, *, truthy: bool = False) -> str:
        try:
            result = ex.translate(expr, self.static, truthy=truthy, defined=self.defined())
        except jinja2.TemplateSyntaxError as exc:
            raise self.fail(origin, f"broken jinja expression '{expr}': {exc.message}") from None
        for problem in result.problems:
            if result.evaluated:
                self.warnings.add(f"{problem}: '{expr}' evaluated at conversion time", origin)
            else:
                self.warnings.add(f"{problem}: '{expr}' kept as written, it will not render", origin)
        for note in result.notes:
            self.warnings.add(note, origin)
        for name in result.environment:
            self.warnings.once(ex.environment_note(name), origin)
        for name in result.assumed:
            self.warnings.add(ex.assumed_note(name), origin)
        return result.text

    def defined(self) -> frozenset[str]:
        """The names defined at this point: the context so far, values known now, the variant's."""
        return frozenset({c.name for c in self.context} | self.static.keys() | self.variables)

    def selector(self, selector: str, origin: int) -> str:
        try:
            assumed: list[str] = []
            environment: list[str] = []
            cond = translate_selector(selector, self.variables, assumed, environment)
        except SelectorError as exc:
            hint = "use platform names (linux, osx, win, ...), py/np comparisons or a variant variable"
            raise self.fail(origin, f"{exc}; {hint}") from None
        for name in assumed:
            self.warnings.add(
                f"selector name '{name}' is not a conda-build name and no conda_build_config.yaml of the "
                "recipe defines it: read as a variant variable, false where the variant config lacks it",
                origin,
            )
        for name in environment:
            self.warnings.once(ex.environment_note(name), origin)
        return cond

    def _branch(self, body: str, origin: int) -> tuple[str, bool | None]:
        """A branch's v1 condition and its truth where decided now (its condition is then that)."""
        cond = self.condition(body, origin)
        own = self._truth(body)
        if own is None:  # a condition the engine evaluates with the context's last values
            for name in ex.free_names(body) & {c.name for c in self.context}:
                self.tested.setdefault(name, origin)
        return (cond if own is None else "true" if own else "false"), own

    def _truth(self, expr: str) -> bool | None:
        """An ``{% if %}`` condition's truth, decided now when it is a constant or v1 cannot write it
        (it reads values v1 cannot hold, or needs Python): else None, and it stays a v1 condition,
        which keeps its meaning when the recipe's values change."""
        try:
            names = ex.free_names(expr)
            if not names <= self.static.keys():
                return None
            if names and not names & self.static_only and not ex.translate(expr).problems:
                return None
            return bool(ex.evaluate(expr, self.static))
        except ex.EVAL_ERRORS:
            return None

    # -- {% set %} --------------------------------------------------------------------------------

    def assign(self, body: str, origin: int, selector: str | None = None) -> None:
        """``{% set name = value %}``, under the enclosing blocks and an optional line selector."""
        if any(f.known is False for f in self.frames):
            return  # a branch conda-build's jinja does not take: its statements never run
        match = _SET.match(body)
        if match is None:
            raise self.fail(origin, f"cannot read '{{% set {body} %}}': expected '{{% set name = value %}}'")
        name = match["name"]
        open_frames = [f for f in self.frames if f.known is None]
        for frame in open_frames:
            if name not in frame.saved:
                frame.saved[name] = self._save(name)
                frame.first_set[name] = origin
        if name in self.tested:
            self.warnings.once(
                f"'{name}' is set again after the '{{% if %}}' on line {self.tested[name]} tested it: "
                "conda-build tested the value it had there, the v1 recipe tests its last value; check "
                "that the block still selects what it should",
                origin,
            )
        cond = None if selector is None else self.selector(selector, origin)
        before = self._save(name)
        self.set_variable(body, origin)
        if name in self.static_only and (open_frames or cond is not None):
            where = f"under [{selector}]" if cond is not None else "inside an '{% if %}' block"
            raise self.fail(
                origin,
                f"'{name}' is set {where} to a value v1 cannot hold; set it unconditionally",
            )
        if cond is None:
            return
        var = self._var(name)
        assert var is not None
        old = before.expression()
        if old is None:
            old = "''"
            self.warnings.add(f"'{{% set {name} %}}' applies only where [{selector}]: {UNDEFINED}", origin)
        new = ex.as_expression(var.value)
        var.value, var.quote = f"${{{{ {paren(new)} if {paren(cond)} else {paren(old)} }}}}", ""
        self.static.pop(name, None)  # known only per platform now: nothing folds it

    def set_variable(self, body: str, origin: int) -> None:
        match = _SET.match(body)
        if match is None:
            raise self.fail(origin, f"cannot read '{{% set {body} %}}': expected '{{% set name = value %}}'")
        name, expr = match.group("name"), match.group("expr").strip()
        static = self.static
        value: object
        try:
            constant = ex.evaluate(expr, static) if ex.free_names(expr) <= static.keys() else None
            evaluated = ex.free_names(expr) <= static.keys()
        except ex.EVAL_ERRORS:
            constant, evaluated = None, False
        try:
            node = ex.parse_expression(expr)
            problems = ex.translate(expr).problems
        except jinja2.TemplateSyntaxError as exc:
            raise self.fail(origin, f"broken jinja in '{{% set {body} %}}': {exc.message}") from None
        existing = self._var(name)
        if isinstance(node, jinja2.nodes.Const | jinja2.nodes.List) and evaluated:
            value = constant
        elif existing is not None and name in ex.free_names(expr) and evaluated:
            value = constant  # a redefinition that uses the old value: fold it, v1 keys are unique
        elif evaluated and problems:
            # v1 cannot compute it (a file read, a Python method): the value computed now is kept
            read = f" from {', '.join(sorted({p.name for p in self.read}))}" if self.read else ""
            self.warnings.add(
                f"'{name}' = {expr} has no v1 equivalent ({problems[0]}): evaluated now{read}; "
                "the v1 recipe holds the value, convert again when it changes",
                origin,
            )
            static[name] = constant
            if not is_plain(constant):
                self.static_only.add(name)  # a match or a mapping: only its uses are kept
                return
            value = constant
        else:
            text = self.translate(expr, origin)
            if existing is not None and name in ex.free_names(expr):
                # v1 keys are unique: the old value goes into the new one ('build + offset' → '(0) + offset')
                text = ex.replace_name(text, name, paren(ex.as_expression(existing.value)))
            value = "${{ " + text + " }}"
        if evaluated:
            static[name] = constant
        else:
            static.pop(name, None)
        constant_text = isinstance(node, jinja2.nodes.Const) and isinstance(value, str)
        quote = expr[0] if constant_text and expr[:1] in {"'", '"'} else ""
        if existing is not None:
            existing.value, existing.line, existing.quote = value, origin, quote
        else:
            self.context.append(ContextVar(name, value, origin, quote))

    # -- blocks -----------------------------------------------------------------------------------

    def _var(self, name: str) -> ContextVar | None:
        return next((c for c in self.context if c.name == name), None)

    def _save(self, name: str) -> Saved:
        var = self._var(name)
        copy = None if var is None else ContextVar(var.name, var.value, var.line, var.quote)
        return Saved(copy, self.static.get(name), name in self.static)

    def _restore(self, name: str, saved: Saved) -> None:
        var = self._var(name)
        if saved.var is None:
            if var is not None:
                self.context.remove(var)
        elif var is None:
            self.context.append(ContextVar(saved.var.name, saved.var.value, saved.var.line, saved.var.quote))
        else:
            var.value, var.line, var.quote = saved.var.value, saved.var.line, saved.var.quote
        if saved.known:
            self.static[name] = saved.static
        else:
            self.static.pop(name, None)

    def finish(self) -> None:
        """Order the context so that each value comes after the values it reads."""
        self.context[:] = ordered(self.context)

    def _close_branch(self, frame: Frame, cond: str | None) -> None:
        """The current branch ends: keep what it set, and start the next from the block's start."""
        frame.branches.append((cond, {name: self._save(name) for name in frame.saved}))
        for name, saved in frame.saved.items():
            self._restore(name, saved)

    def _compose(self, frame: Frame) -> None:
        """The block closes: each name it set becomes one conditional expression over its branches."""
        for name, start in frame.saved.items():
            composed = compose(frame, name, start)
            if isinstance(composed, Saved):
                self._restore(name, composed)  # the same value in every branch: no condition needed
                continue
            expr, undefined = composed
            if undefined:
                where = "is set only in some branches of its '{% if %}' block"
                self.warnings.add(f"'{{% set {name} %}}' {where}: {UNDEFINED}", frame.first_set[name])
            var = self._var(name)
            if var is None:
                var = ContextVar(name, "", frame.first_set[name])
                self.context.append(var)
            var.value, var.quote = "${{ " + expr + " }}", ""
            self.static.pop(name, None)  # known only per branch: nothing folds it
