"""``render``: every selected router's configuration, without contacting any.

Runs the task :func:`~nornir_peering.tasks.render_config` on every router in
parallel (Nornir's runner); a router that fails does not stop the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nornir.core import Nornir

from nornir_peering.inventory import Selection
from nornir_peering.rendering import Rendered
from nornir_peering.runbooks.fleet import failure, nornir_for
from nornir_peering.settings import Settings
from nornir_peering.tasks import render_config


@dataclass
class RenderReport:
    """The configurations rendered, and why the others failed (router → error)."""

    rendered: list[Rendered] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def render_routers(target: Nornir | Settings, selection: Selection | None = None) -> RenderReport:
    """Render the routers of ``target``: an engineer's Nornir object, or the settings
    and the host selection the command line gives."""
    nr = nornir_for(target, selection)
    results = nr.run(task=render_config, name="render", on_failed=True)
    report = RenderReport()
    for name in sorted(results):
        first = results[name][0]
        if first.failed:
            report.failed[name] = failure(first)
            continue
        template = nr.inventory.hosts[name].get("template")
        report.rendered.append(
            Rendered(name, str(template) if first.result is not None else None, first.result or "")
        )
    return report
