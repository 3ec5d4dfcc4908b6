"""The example notebook runs, against a real database, through the documented function."""

from pathlib import Path

import nbformat
import pyarrow.parquet as pq
from nbclient import NotebookClient

from . import logdata

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "message_log.ipynb"


def test_example_notebook_loads_a_month_charts_it_and_writes_parquet(db_url, session, project, agent, tmp_path):
    logdata.load(session, project, agent)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert "os.environ" not in "".join(c.source for c in nb.cells)  # the URL comes through smschat.config
    [params] = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    output = tmp_path / "march.parquet"
    params.source = f'PROJECT = "test"\nANALYST = "ana"\nMONTH = "2026-03"\nOUTPUT = {str(output)!r}\n'
    # The kernel inherits SMSCHAT_DATABASE_URL (set by the db_url fixture) and runs in tmp_path.
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("6 messages in 2026-03 (America/New_York)" in t for t in texts)
    bundles = [o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    # The chart was drawn (Altair's default renderer: HTML that embeds the Vega-Lite spec).
    assert any("vegaEmbed" in b.get("text/html", "") or any("vegalite" in k for k in b) for b in bundles)
    table = pq.read_table(output)
    assert table.num_rows == 6
    assert table.column_names[:3] == ["Timestamp", "Contact Name", "Contact Type"]
