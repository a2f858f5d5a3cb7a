"""Change impact analysis over the service dependency graph (curriculum 1.1).

A change to a service can break the services that depend on it, directly or
through others. ``analyse`` walks the reverse dependency edges breadth-first
(so cycles and diamonds are visited once, by their shortest path) and says
whether the release is a *single application* change or a *multi-system* one.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from releasemgr.decisions import Reason
from releases.models import Service, ServiceDependency

SINGLE_APPLICATION = "single_application"
MULTI_SYSTEM = "multi_system"


@dataclass(frozen=True)
class AffectedService:
    service: Service
    depth: int  # 0 = changed by the release, 1 = depends on a changed one, ...
    path: tuple[str, ...]  # slugs from a changed service to this one
    kind: str  # "changed", "runtime" or "library" (kind of the last edge)


@dataclass
class ImpactAnalysis:
    changed: list[AffectedService] = field(default_factory=list)
    affected: list[AffectedService] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)

    @property
    def classification(self) -> str:
        return SINGLE_APPLICATION if len(self.changed) <= 1 and not self.affected else MULTI_SYSTEM

    @property
    def classification_label(self) -> str:
        return "Single application" if self.classification == SINGLE_APPLICATION else "Multi-system"

    @property
    def all_services(self) -> list[AffectedService]:
        return self.changed + self.affected

    @property
    def customer_facing(self) -> list[Service]:
        return [a.service for a in self.all_services if a.service.customer_facing]

    def as_dict(self) -> dict:
        def row(a: AffectedService) -> dict:
            return {
                "service": a.service.slug,
                "name": a.service.name,
                "team": a.service.team.slug,
                "depth": a.depth,
                "path": list(a.path),
                "via": a.kind,
                "customer_facing": a.service.customer_facing,
                "tier": a.service.tier,
                "recovery_sla_minutes": a.service.recovery_sla_minutes,
            }

        return {
            "classification": self.classification,
            "changed": [row(a) for a in self.changed],
            "affected": [row(a) for a in self.affected],
            "reasons": [r.as_dict() for r in self.reasons],
        }


def _dependents_map() -> dict[int, list[tuple[int, str]]]:
    """service id → [(id of a service that depends on it, edge kind)]; one query."""
    graph: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for service_id, depends_on_id, kind in ServiceDependency.objects.values_list(
        "service_id", "depends_on_id", "kind"
    ):
        graph[depends_on_id].append((service_id, kind))
    return graph


def analyse(changed_services: Iterable[Service]) -> ImpactAnalysis:
    changed = list(dict.fromkeys(changed_services))
    result = ImpactAnalysis()
    if not changed:
        result.reasons.append(
            Reason(
                "impact_scope",
                False,
                "The release names no services yet, so its impact is unknown.",
            )
        )
        return result

    graph = _dependents_map()
    seen: dict[int, tuple[int, tuple[int, ...], str]] = {}
    queue: deque[int] = deque()
    for service in changed:
        seen[service.pk] = (0, (service.pk,), "changed")
        queue.append(service.pk)
    while queue:
        current = queue.popleft()
        depth, path, _ = seen[current]
        for dependent, kind in graph.get(current, ()):
            if dependent not in seen:
                seen[dependent] = (depth + 1, path + (dependent,), kind)
                queue.append(dependent)

    services = Service.objects.select_related("team").in_bulk(seen.keys())
    slug = {pk: s.slug for pk, s in services.items()}
    rows = [
        AffectedService(services[pk], depth, tuple(slug[p] for p in path), kind)
        for pk, (depth, path, kind) in seen.items()
    ]
    rows.sort(key=lambda a: (a.depth, a.service.name))
    result.changed = [a for a in rows if a.depth == 0]
    result.affected = [a for a in rows if a.depth > 0]

    if result.classification == SINGLE_APPLICATION:
        result.reasons.append(
            Reason(
                "single_application",
                True,
                f"Only {changed[0].name} changes and nothing depends on it.",
            )
        )
    else:
        teams = sorted({a.service.team.name for a in result.all_services})
        message = (
            f"{len(result.changed)} changed service(s) affect {len(result.affected)} dependent "
            f"service(s) across {len(teams)} team(s): {', '.join(teams)}."
        )
        result.reasons.append(Reason("multi_system", True, message, {"teams": teams}))
    customer = [s.name for s in result.customer_facing]
    if customer:
        result.reasons.append(
            Reason(
                "customer_facing",
                True,
                f"Customer-facing services in the blast radius: {', '.join(customer)}.",
                {"services": customer},
            )
        )
    return result


def release_impact(release) -> ImpactAnalysis:
    return analyse(rs.service for rs in release.release_services.all())


def neighbourhood(service: Service, max_depth: int = 3) -> dict:
    """Nodes and edges around one service, laid out in columns for an SVG picture.

    Column 0 is the service; negative columns are what it depends on,
    positive columns what depends on it.
    """
    edges = list(ServiceDependency.objects.values_list("service_id", "depends_on_id", "kind"))
    upstream: dict[int, list[int]] = defaultdict(list)
    downstream: dict[int, list[int]] = defaultdict(list)
    for src, dst, _kind in edges:
        upstream[src].append(dst)
        downstream[dst].append(src)

    column: dict[int, int] = {service.pk: 0}
    for direction, adjacency in ((-1, upstream), (1, downstream)):
        frontier = [service.pk]
        for depth in range(1, max_depth + 1):
            nxt = []
            for node in frontier:
                for other in adjacency.get(node, ()):
                    if other not in column:
                        column[other] = direction * depth
                        nxt.append(other)
            frontier = nxt

    services = Service.objects.in_bulk(column.keys())
    by_column: dict[int, list[Service]] = defaultdict(list)
    for pk, col in column.items():
        by_column[col].append(services[pk])
    cols = sorted(by_column)
    width_step, height_step, box_w, box_h = 190, 60, 160, 36
    positions = {}
    nodes = []
    tallest = max(len(v) for v in by_column.values())
    for ci, col in enumerate(cols):
        members = sorted(by_column[col], key=lambda s: s.name)
        offset = (tallest - len(members)) * height_step / 2
        for ri, svc in enumerate(members):
            x, y = 10 + ci * width_step, 10 + offset + ri * height_step
            positions[svc.pk] = (x, y)
            nodes.append(
                {
                    "service": svc,
                    "x": x,
                    "y": y,
                    "w": box_w,
                    "h": box_h,
                    "column": col,
                    "is_focus": svc.pk == service.pk,
                }
            )
    drawn_edges = []
    for src, dst, kind in edges:
        if src in positions and dst in positions:
            (x1, y1), (x2, y2) = positions[src], positions[dst]
            # Arrow from dependent (right) to dependency (left).
            drawn_edges.append(
                {
                    "x1": x1,
                    "y1": y1 + box_h / 2,
                    "x2": x2 + box_w,
                    "y2": y2 + box_h / 2,
                    "kind": kind,
                }
            )
    return {
        "nodes": nodes,
        "edges": drawn_edges,
        "width": 20 + len(cols) * width_step,
        "height": 20 + tallest * height_step,
    }
