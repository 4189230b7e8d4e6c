"""The web app launched in a subprocess under a hostile environment: every ``GRADIO_*``
variable that would widen it set to its worst value (``GRADIO_SERVER_NAME=0.0.0.0``,
``GRADIO_SHARE=true``, ``GRADIO_ALLOWED_PATHS`` = the repository, the data folder and ``/``,
``GRADIO_TEMP_DIR`` = the folder holding index/ and docs/, MCP server, vibe editing mode,
SSR, debug, analytics). It must still:

- listen on 127.0.0.1 only (checked in /proc/net/tcp*, not just in its log), share nothing;
- refuse (403/404) every file under index/, the documents folder and the repository, on
  every Gradio file route, with traversal and encoding tricks;
- keep /monitoring, the MCP server and the vibe editor closed;
- show an internal error as a generic message, never a traceback, exception text or path;
- render document text holding ``<script>``, ``<img onerror>`` and Markdown links as text,
  end to end through the HTTP API the browser uses (the chat event on the queue);
- pick up a new index generation without a restart.

The server runs ``tests/reliability/hostile_app.py``: ``app.py`` as is, plus a fault
(a question holding ``FAULT`` raises inside ``Assistant.ask``) armed from outside.
"""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from reliability.hostile_app import FAULT, SECRET
from reliability.server import APP_MODEL, ROOT, Server, hostile_env, serving

LEAFLETS = (
    "Border Leaflets\n\nKazakhstan\n\n"
    "A leaflet found at the border read <script>alert(1)</script> and showed <img src=x onerror=alert(2)> "
    "beside a link [click](javascript:alert(3)) and an image ![x](http://198.51.100.7/x.png) under it.\n\n"
    "Aid\n\nIn March the government of Kazakhstan sent 40 tonnes of humanitarian aid to Ukraine.\n"
)
LEAFLET_Q = "What did the leaflet found at the border read?"
HOSTILE_MARKUP = ("<script", "<img", "](javascript:", "![x](http")  # as markup; escaped, they are text


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("hostile")
    with serving(base, {"leaflets.txt": LEAFLETS}, hostile_env(base)) as s:
        yield s


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# ------------------------------------------------------------------------------ network
def _listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every listening TCP socket of ``pid``, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            addr_hex, port_hex = local.split(":")
            raw = bytes.fromhex(addr_hex)
            if width == 8:
                addr = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                addr = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
            found.add((addr, int(port_hex, 16)))
    return found


def test_listens_on_loopback_only(server: Server) -> None:
    listening = _listening_addresses(server.proc.pid)
    assert (("127.0.0.1", server.port)) in listening, listening
    assert all(addr == "127.0.0.1" for addr, _ in listening), f"listening beyond loopback: {listening}"


def test_not_reachable_on_another_address(server: Server) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            own = s.getsockname()[0]
        except OSError:
            pytest.skip("no non-loopback interface")
    if own.startswith("127."):
        pytest.skip("no non-loopback interface")
    with socket.socket() as c, pytest.raises(OSError):
        c.settimeout(3)
        c.connect((own, server.port))


def test_shares_nothing(server: Server) -> None:
    log = server.log_text()
    assert "gradio.live" not in log and "public URL" not in log.replace("create a public link", "")
    cfg = json.loads(_get(server.url + "config")[1])
    assert not cfg.get("share") and not cfg.get("mcp_server") and not cfg.get("vibe_mode")
    assert not cfg.get("analytics_enabled") and cfg.get("show_error") is False
    assert "Error launching MCP server" not in log  # the MCP variable was not even looked at


# ------------------------------------------------------------------------------ files
def _secrets(server: Server) -> list[Path]:
    gen = next(server.index.glob("gen-*"))
    return [
        server.index / "CURRENT", gen / "manifest.json", gen / "documents.jsonl", server.docs / "leaflets.txt",
        ROOT / "pyproject.toml", ROOT / "app.py", ROOT / "qa" / "store.py", ROOT / "README.md", server.log,
    ]


def _file_urls(server: Server, path: Path) -> list[str]:
    p = str(path)
    rel_root = path.relative_to(ROOT) if path.is_relative_to(ROOT) else None
    quoted = urllib.parse.quote(p, safe="")
    urls = [f"gradio_api/file={p}", f"file={p}", f"gradio_api/file={quoted}", f"gradio_api/file/{p.lstrip('/')}",
            f"gradio_api/file={Path(p).parent}/../{Path(p).parent.name}/{Path(p).name}",
            f"gradio_api/file=/tmp/../{p.lstrip('/')}", f"gradio_api/proxy={p}", f"static/{p}", f"assets/{p}"]
    if rel_root is not None:
        urls += [f"gradio_api/file={rel_root}", f"file={rel_root}", f"gradio_api/file=../{ROOT.name}/{rel_root}"]
    return urls


def test_no_file_of_the_index_the_documents_or_the_repository_is_served(server: Server) -> None:
    tried = 0
    for path in _secrets(server):
        content = path.read_bytes()
        marker = content[:40].strip() or content
        for u in _file_urls(server, path):
            status, body = _get(server.url + u)
            tried += 1
            # the file routes refuse outright; other routes reject the request itself (e.g. 400: not a URL)
            assert status in (403, 404) if "file" in u else 400 <= status < 500, f"{u}: {status}"
            assert marker not in body, f"{u}: served file content"
    for extra in ("gradio_api/file=/etc/passwd", "file=/etc/passwd", "gradio_api/file=/proc/self/environ"):
        status, body = _get(server.url + extra)
        assert status in (403, 404) and b"root:" not in body
    assert tried >= 80


def test_monitoring_mcp_and_vibe_editor_are_closed(server: Server) -> None:
    for u in ("monitoring", "monitoring/summary", "gradio_api/monitoring", "monitoring/" + "0" * 32,
              "gradio_api/vibe-code", "gradio_api/mcp/sse", "gradio_api/mcp/schema", "gradio_api/mcp/", "runs",
              ):
        status, body = _get(server.url + u)
        assert status in (403, 404, 405), f"{u}: {status} {body[:200]!r}"
    req = urllib.request.Request(server.url + "gradio_api/vibe-edit", data=b'{"prompt": "print(1)"}',
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code in (403, 404, 422)


# ------------------------------------------------------------------------------ errors
@pytest.fixture(scope="module")
def client(server: Server):  # type: ignore[no-untyped-def]
    gradio_client = pytest.importorskip("gradio_client")
    return gradio_client.Client(server.url, verbose=False)


def test_an_internal_error_shows_no_traceback(server: Server, client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception) as err:
        client.predict(f"What is {FAULT}?", api_name="/ask")
    msg = str(err.value)
    assert "Something went wrong on our side" in msg
    for leak in ("Traceback", SECRET, "RuntimeError", 'File "', str(ROOT), "store.py"):
        assert leak not in msg, leak
    assert SECRET in server.log_text()  # the details are in the server log, for the operator
    # the same through the chat event the browser uses
    out = _chat(server, f"What is {FAULT}?")
    text = json.dumps(out)
    assert "Something went wrong on our side" in text
    for leak in ("Traceback", SECRET, "RuntimeError", str(ROOT)):
        assert leak not in text, leak
    # and the app still answers
    assert client.predict(LEAFLET_Q, api_name="/ask")["found"]


# ------------------------------------------------------------------------------ rendering
def _chat(server: Server, question: str) -> dict:
    """Run the chat's Ask event over HTTP as the browser does (queue join + event stream)."""
    cfg = json.loads(_get(server.url + "config")[1])
    ask = next(c["id"] for c in cfg["components"] if c.get("props", {}).get("elem_id") == "qa-ask")
    dep = next(d for d in cfg["dependencies"] if any(t[0] == ask for t in d["targets"]))
    session = uuid.uuid4().hex[:12]
    body = {"data": [question, [], None, [], "", 5], "event_data": None, "fn_index": dep["id"], "trigger_id": ask,
            "session_hash": session}
    req = urllib.request.Request(server.url + "gradio_api/queue/join", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    with urllib.request.urlopen(server.url + f"gradio_api/queue/data?session_hash={session}", timeout=60) as r:
        for raw in r:
            line = raw.decode("utf-8").strip()
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    raise AssertionError("the event stream ended without a result")


def test_document_markup_renders_as_text_end_to_end(server: Server, client) -> None:  # type: ignore[no-untyped-def]
    pred = client.predict(LEAFLET_Q, api_name="/ask")  # the JSON API returns the verbatim quote (data, not HTML)
    assert pred["found"] and "<script>alert(1)</script>" in pred["citations"][0]["quote"]
    msg = _chat(server, LEAFLET_Q + " <img src=x onerror=alert(9)>")
    assert msg["success"], msg
    chat, _pairs, _last, panel, plain = msg["output"]["data"][:5]
    rendered = [panel] + [part["text"] for m in chat for part in m["content"] if isinstance(part, dict) and "text" in part]
    assert "leaflet" in panel
    for html in rendered:
        for bad in HOSTILE_MARKUP:
            assert bad not in html, (bad, html[:300])
    assert "&lt;script&gt;" in panel and "&lt;img src=x onerror=alert&#40;2&#41;&gt;" in panel
    assert "&#91;click&#93;&#40;javascript:" in panel
    assert "<script>alert(1)</script>" in plain  # the copy-as-text box is a plain textbox: verbatim


# ------------------------------------------------------------------------------ generations
def test_the_app_picks_up_a_new_generation_without_restart(server: Server, client) -> None:  # type: ignore[no-untyped-def]
    from qa.embed import make_embedder
    from qa.indexer import build_index

    q = "How many yurts did the Naryn cooperative build?"
    assert not client.predict(q, api_name="/ask")["found"]
    (server.docs / "yurts.txt").write_text(
        "Crafts\n\nKyrgyzstan\n\nThe Naryn cooperative built 120 yurts for the summer pastures.\n", encoding="utf-8")
    build_index(server.docs, server.index, make_embedder(APP_MODEL))  # as `qa index` would, from outside the app
    pred = client.predict(q, api_name="/ask")
    assert pred["found"] and "120 yurts" in pred["answer"]
