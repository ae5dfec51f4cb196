"""``render``: every selected router's configuration, without contacting any."""

from __future__ import annotations

from dataclasses import dataclass, field

from nornir_peering.errors import PeeringError
from nornir_peering.inventory import Selection
from nornir_peering.runbooks.fleet import fleet
from nornir_peering.runbooks.render import Rendered, render_host
from nornir_peering.settings import Settings
from nornir_peering.templating import environment


@dataclass
class RenderReport:
    rendered: list[Rendered] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def render_routers(settings: Settings, selection: Selection) -> RenderReport:
    selected = fleet(settings, selection)
    env = environment(settings.peering.templates)
    report = RenderReport()
    for name in sorted(selected.nornir.inventory.hosts):
        try:
            report.rendered.append(render_host(env, selected.nornir.inventory.hosts[name]))
        except PeeringError as exc:
            report.failed[name] = str(exc)
    return report
