"""The entry point the design card names: the web app, an HTTP API (FastAPI) and a Chinese UI (Gradio
Blocks) over one policyqa Service.

    python app.py            # or `policyqa serve`; listens on settings.host:settings.port
    GET  /                   the UI: 问答 · 部门职责 · 政策匹配 · 文档库
    /api/…                   the HTTP API (faces/api.py), /docs its documentation

The faces live in faces/ (api.py, webui.py, cli.py, guard.py, wiring.py); this file only starts them.
"""

from __future__ import annotations

import logging
import sys

from faces.api import create_app, serve  # noqa: F401  (the entry points, importable as app.create_app)
from policyqa.errors import PolicyQAError


def main() -> int:
    """`python app.py`: serve with settings from the environment; errors print one line."""
    from faces.errors import cli_line
    from policyqa.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        serve(Settings())
    except PolicyQAError as exc:
        print(cli_line(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
