"""Model prices: a versioned table shipped in the package, overridable by a user file.

`PriceTable.cost()` prices one call's usage. Token counts follow OTel GenAI: `input_tokens`
already includes cache-read and cache-write tokens, so those are priced at their own rates and
subtracted from the plain input, never added twice.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

PRICES_ENV = "AGENTDECK_PRICES"


class PriceFileError(ValueError):
    """A price file that cannot be used; the message says which entry and what to fix."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input: float  # USD per million tokens
    output: float
    cache_read: float
    cache_write: float


_LOOKUP_CACHE_MAX = 4096  # model names come from producers: remember this many, then stop adding


@dataclass(frozen=True, slots=True)
class PriceTable:
    version: str
    models: dict[str, ModelPrice]
    _found: dict[str, ModelPrice | None] = field(default_factory=dict, compare=False, repr=False)

    def lookup(self, model: str | None) -> ModelPrice | None:
        """Price of `model` by the longest matching key prefix, ignoring a provider prefix."""
        if not model:
            return None
        try:
            return self._found[model]  # the collector prices every LLM span: a scan of the table each is ~20 us
        except KeyError:
            pass
        price = self._match(model)
        if len(self._found) < _LOOKUP_CACHE_MAX:
            self._found[model] = price
        return price

    def _match(self, model: str) -> ModelPrice | None:
        name = model.strip().lower()
        for prefix in ("anthropic/", "openai/", "models/", "us.anthropic.", "anthropic."):
            if name.startswith(prefix):
                name = name[len(prefix) :]
        best: str | None = None
        for key in self.models:
            if (name == key or name.startswith(key + "-") or name.startswith(key + "@")) and (
                best is None or len(key) > len(best)
            ):
                best = key
        return self.models[best] if best else None

    def cost(
        self,
        model: str | None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> float | None:
        """USD for one call, or None when the model is not in the table."""
        price = self.lookup(model)
        if price is None:
            return None
        plain_input = max(input_tokens - cache_read_tokens - cache_write_tokens, 0)
        return (
            plain_input * price.input
            + cache_read_tokens * price.cache_read
            + cache_write_tokens * price.cache_write
            + output_tokens * price.output
        ) / 1_000_000

    def merged(self, other: PriceTable) -> PriceTable:
        return PriceTable(version=f"{self.version}+{other.version}", models={**self.models, **other.models})


def _parse(data: dict[str, Any], origin: str) -> PriceTable:
    models_raw = data.get("models")
    if not isinstance(models_raw, dict):
        raise PriceFileError(f'{origin}: expected a [models."<model-prefix>"] table per model')
    models: dict[str, ModelPrice] = {}
    for key, entry in models_raw.items():
        if not isinstance(entry, dict):
            raise PriceFileError(f"{origin}: models.{key} must be a table with input and output prices")
        try:
            inp = float(entry["input"])
            out = float(entry["output"])
        except KeyError as exc:
            raise PriceFileError(f"{origin}: models.{key} is missing {exc.args[0]!r} (USD per 1M tokens)") from None
        except (TypeError, ValueError):
            raise PriceFileError(f"{origin}: models.{key} prices must be numbers (USD per 1M tokens)") from None
        unknown = set(entry) - {"input", "output", "cache_read", "cache_write"}
        if unknown:
            raise PriceFileError(f"{origin}: models.{key} has unknown keys {sorted(unknown)}")
        prices = (inp, out, float(entry.get("cache_read", inp)), float(entry.get("cache_write", inp)))
        if any(p < 0 for p in prices):
            raise PriceFileError(f"{origin}: models.{key} prices must not be negative")
        models[key.lower()] = ModelPrice(*prices)
    return PriceTable(version=str(data.get("version", origin)), models=models)


def builtin_prices() -> PriceTable:
    text = resources.files("agentdeck.engine").joinpath("prices.toml").read_text(encoding="utf-8")
    return _parse(tomllib.loads(text), "engine/prices.toml")


def load_prices(path: str | Path | None = None) -> PriceTable:
    """The shipped table, overridden by `path` (or $AGENTDECK_PRICES) when given."""
    table = builtin_prices()
    override = path or os.environ.get(PRICES_ENV)
    if override:
        p = Path(override)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PriceFileError(f"price file {p} does not exist (set by {PRICES_ENV} or --prices)") from None
        except tomllib.TOMLDecodeError as exc:
            raise PriceFileError(f"price file {p} is not valid TOML: {exc}") from None
        table = table.merged(_parse(data, str(p)))
    return table
