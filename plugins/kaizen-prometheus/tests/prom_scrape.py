"""Scrape /metrics with a real HTTP client and parse it with prometheus-client's text parser."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families


def scrape(url: str, **request: Any) -> dict[str, list[tuple[dict[str, str], float]]]:
    """``{sample name: [(labels, value), ...]}`` of one scrape (raises on a non-200 answer)."""
    response = httpx.get(url, timeout=10, **request)
    response.raise_for_status()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    """The one sample ``name`` whose labels include ``labels`` (0.0 when there is none)."""
    found = [v for got, v in samples.get(name, []) if all(got.get(k) == want for k, want in labels.items())]
    assert len(found) <= 1, f"{name}{labels} matches {len(found)} samples"
    return found[0] if found else 0.0


def label_values(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, label: str) -> set[str]:
    """Every value of ``label`` among the samples ``name``."""
    return {got[label] for got, _ in samples.get(name, []) if label in got}
