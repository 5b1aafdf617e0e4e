"""What a job's outputs look like in the console: executed notes and notebooks, CSV files.

Pure functions from a file's bytes to an HTML fragment, importing nothing of the project
(a leaf, checked by `make lint`). Whatever a file holds is written by whoever wrote the
model, so every piece of it is escaped, and the active parts (a note's HTML results, a
notebook) go into sandboxed frames where no script runs (`markup.sandboxed_frame`).
Sorting tables and sizing frames is `console/static/render.js`; their looks
`console/static/render.css`.
"""

from jobmanager.console.render.jupyter import render_jupyter_notebook
from jobmanager.console.render.tables import render_csv_preview
from jobmanager.console.render.zeppelin import render_zeppelin_note

__all__ = ["render_csv_preview", "render_jupyter_notebook", "render_zeppelin_note"]
