"""The conformance suite's stores: every `SpanStore` gets the same fixture and must give the same answers.

`STORES` lists the stores under test; `open_store(kind, folder)` opens an empty one. The fixture (the
sample traces, plus third-party convention spans: OpenInference, OpenLLMetry, OTel GenAI with the
anthropic SDK's duplicate span, a late parent, and tasks whose root has not arrived) goes through
the real ingest writer, so lineage and dedup run through the seam too. `reference` is the same
fixture in DuckDB, the reference store: a store passes when its answers equal DuckDB's.

To add a store: in store_fixture.py, add its name to `STORES` and a branch to `open_store` (e.g.
"chdb": the ClickHouse store over `chdb://<folder>/ch`); skip it with `pytest.importorskip` when its
extra is missing. Nothing else changes: every test here then runs on it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.store.store_fixture import STORES, Fixture, Loaded, close, fill, make_fixture


@pytest.fixture(scope="session")
def fixture_data() -> Fixture:
    return make_fixture()


@pytest.fixture(scope="module", params=STORES)
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fixture_data: Fixture
) -> Iterator[Loaded]:
    store = fill(request.param, tmp_path_factory.mktemp(f"conformance-{request.param}"), fixture_data)
    yield store
    close(store)


@pytest.fixture(scope="module")
def reference(loaded: Loaded, tmp_path_factory: pytest.TempPathFactory, fixture_data: Fixture) -> Iterator[Loaded]:
    """DuckDB, the reference store, holding the same fixture."""
    if loaded.kind == "duckdb":
        yield loaded
        return
    ref = fill("duckdb", tmp_path_factory.mktemp("conformance-reference"), fixture_data)
    yield ref
    close(ref)
