"""Sphinx configuration: MyST pages, the furo theme, and reference pages generated from
the code (``_ext/peering_docs.py``, sphinx-click). No network access: no intersphinx."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE / "_ext")]

from nornir_peering import __version__  # noqa: E402

project = "nornir-peering"
author = "nornir-peering contributors"
copyright = "nornir-peering contributors"
release = version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx_click",
    "peering_docs",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = "nornir-peering"
smartquotes = False
html_static_path: list[str] = []
autodoc_member_order = "bysource"
autodoc_typehints = "description"
