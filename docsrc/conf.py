"""Sphinx configuration for the torchrtx docs.

Build: ``sphinx-build -W -b html docsrc docsrc/_build``.
"""

import torchrtx

project = "torchrtx"
author = "torchrtx developers"
copyright = "torchrtx developers"
release = torchrtx.__version__
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
