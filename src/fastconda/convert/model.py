"""Results and warnings of a conversion: plain frozen data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConversionWarning:
    """A lossy or doubtful step of a conversion and its meta.yaml line (1-based, 0 if none)."""

    message: str
    line: int = 0

    def format(self, filename: str = "meta.yaml") -> str:
        return f"{filename}:{self.line}: {self.message}" if self.line else f"{filename}: {self.message}"


@dataclass(frozen=True)
class ConversionResult:
    """A converted v1 recipe (YAML text), the warnings of the conversion and an optional variants.yaml."""

    recipe_text: str
    warnings: tuple[ConversionWarning, ...] = ()
    variants_text: str | None = None


@dataclass
class Warnings:
    """Collects warnings while a conversion runs; duplicates (same line and text) are kept once."""

    items: list[ConversionWarning] = field(default_factory=list)

    def add(self, message: str, line: int = 0) -> None:
        warning = ConversionWarning(message, line)
        if warning not in self.items:
            self.items.append(warning)

    def once(self, message: str, line: int) -> None:
        """A warning about the whole recipe: kept once, at the first line that gives it."""
        for index, warning in enumerate(self.items):
            if warning.message == message:
                if line < warning.line:
                    self.items[index] = ConversionWarning(message, line)
                return
        self.items.append(ConversionWarning(message, line))

    def frozen(self) -> tuple[ConversionWarning, ...]:
        return tuple(sorted(self.items, key=lambda w: (w.line, w.message)))
