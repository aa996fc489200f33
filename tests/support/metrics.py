"""Scraping a Prometheus endpoint and reading it with prometheus_client's own parser, so a
malformed exposition fails the test."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Scrape:
    """Every sample of one scrape, by sample name."""

    samples: dict[str, list[tuple[dict[str, str], float]]]
    families: dict[str, str]  # family name -> type

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` whose labels include `labels`."""
        return sum(value for found, value in self.samples.get(name, [])
                   if all(found.get(key) == wanted for key, wanted in labels.items()))

    def labels(self, name: str, label: str) -> set[str]:
        """The values `label` takes across the samples called `name`."""
        return {found[label] for found, _ in self.samples.get(name, []) if label in found}

    def has(self, name: str) -> bool:
        """Whether any sample is called `name`."""
        return name in self.samples


def scrape(url: str, auth: tuple[str, str] | None = None) -> Scrape:
    """GET `url` (200 and Prometheus text expected) and parse every family."""
    response = requests.get(url, timeout=10, auth=auth)
    assert response.status_code == 200, response.text[:200]
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    families = {}
    for family in text_string_to_metric_families(response.text):
        families[family.name] = family.type
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return Scrape(samples, families)
