"""The faces: the command line (cli.py), the HTTP API (api.py), the Gradio UI (webui.py), who may change the
corpus (guard.py), and the wiring from Settings to the plain values the library takes (wiring.py)."""
