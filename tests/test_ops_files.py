"""The alert rules and the dashboard are files an operator loads as they are: each must parse, and every metric an
expression names must be one the app (web and push worker) really exports — a renamed metric fails here, not
silently on a wall screen at 3 a.m. `promtool check rules` runs too where Debian's `prometheus` package is
installed (it is not installed by the Makefile: 19 MB of download that also starts a Prometheus server)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import push.metrics  # noqa: F401 (its series are registered in this process as in a push worker)

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "ops" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "ops" / "grafana" / "dashboard.json"
RUNBOOK = ROOT / "docs" / "operations.md"
# Series Prometheus makes itself for every target.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
REQUIRED_ALERTS = {
    "YwtbServerErrors",  # 5xx rate
    "YwtbStatusPageSlow",  # p99 of the status page
    "YwtbPushFailing",  # push failure ratio
    "YwtbPushQueueGrowing",  # queue depth growing
    "YwtbOverdueTasksRising",  # overdue tasks rising
    "YwtbNotReady",  # database not ready
}
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}


def metric_names(expression: str) -> set[str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if type(node).__name__ == "VectorSelector" and node.name:
            names.add(node.name)
        for attribute in ("expr", "lhs", "rhs", "vector_selector", "param"):
            child = getattr(node, attribute, None)
            if child is not None and not isinstance(child, (str, int, float)):
                walk(child)
        for child in getattr(node, "args", None) or ():
            walk(child)

    walk(promql_parser.parse(expression))
    return names


@pytest.fixture
async def exported(client: httpx.AsyncClient) -> set[str]:
    """Every series name /metrics can show (a labelled series nobody has touched yet shows only its # TYPE)."""
    await client.get("/")
    text = (await client.get("/metrics")).text
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return {n for n in names if n.startswith("ywtb_")} | PROMETHEUS_OWN


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors for the headings of a Markdown file (enough for our ASCII alert names)."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


async def test_every_alert_parses_names_real_metrics_and_points_at_its_runbook_section(exported: set[str]) -> None:
    rules = _rules()
    assert {rule["alert"] for rule in rules} >= REQUIRED_ALERTS
    anchors = _anchors(RUNBOOK.read_text(encoding="utf-8"))
    for rule in rules:
        assert re.fullmatch(r"Ywtb[A-Z][A-Za-z]+", rule["alert"])
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("page", "ticket")
        assert rule["annotations"]["summary"]
        runbook = rule["annotations"]["runbook"]
        assert runbook == f"docs/operations.md#{rule['alert'].lower()}" and rule["alert"].lower() in anchors
        names = metric_names(rule["expr"])
        assert names and names <= exported, (rule["alert"], names - exported)


async def test_every_dashboard_panel_queries_metrics_the_app_exports(exported: set[str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["panels"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names and names <= exported, (panel["title"], names - exported)


def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus); the rules were parsed above")
    result = subprocess.run([promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
