"""components.data_download: pinned upstream files fetched over real HTTP from a loopback server.

The served files are the tests' own short sentences in each upstream format (CRLF where
upstream has it); SOURCES is pointed at them with their true sha256.
"""
from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chatloop.cli import main as cli_main
from components import data_download, data_import
from components.data_download import Source, download
from components.data_import import DataImportError, import_datasets

COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = {  # (dataset, repo, upstream path, local file) -> content
    ("curse-detection", "o/curse", "dataset.txt", "dataset.txt"):
        "너 진짜 바보 같다|1\r\n오늘 점심 맛있었다|0\r\n",
    ("korean-hate-speech", "o/hate", "labeled/train.tsv", "train.tsv"):
        "comments\tcontain_gender_bias\tbias\thate\n"
        "저 사람들은 다 없어져야 한다\tFalse\tothers\thate\n좋은 소식이네요\tFalse\tnone\tnone\n",
    ("3i4k", "o/3i4k", "data/train_val_test/fci_train_val.txt", "fci_train_val.txt"):
        "2\t지금 몇 시야\r\n1\t비가 온다\r\n",
    ("chatbot-data", "o/chatbot", "ChatbotData.csv", "ChatbotData.csv"):
        'Q,A,label\r\n배고파,뭐라도 드세요.,0\r\n'
        '"안녕, 반가워","나도, 반가워요.",0\r\n',
}


class Server:
    """A loopback HTTP server for {url path: bytes}; records every requested path."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.requests = files, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    """The server with FILES, and SOURCES pointing at them with their real sha256."""
    sources, files = [], {}
    for (dataset, repo, path, file), text in FILES.items():
        body = text.encode("utf-8")
        sources.append(Source(dataset, repo, COMMIT, path, file, hashlib.sha256(body).hexdigest()))
        files[f"/{repo}/{COMMIT}/{path}"] = body
    monkeypatch.setattr(data_download, "SOURCES", tuple(sources))
    monkeypatch.delenv(data_download.BASE_URL_ENV, raising=False)
    srv = Server(files)
    yield srv
    srv.close()


def all_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) \
        if folder.exists() else []


def test_download_then_import_when_no_local_copy(server, tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(data_download.BASE_URL_ENV, server.url)
    monkeypatch.setattr(data_import, "default_shared", lambda: tmp_path / "no-shared")
    out = tmp_path / "raw"
    result = import_datasets(None, str(out), dvc=False, spam_rows=20)

    assert {n: r["rows"] for n, r in result.items()} == {
        "curse-detection": 2, "korean-hate-speech": 2, "3i4k": 2, "chatbot-data": 2, "spam": 20,
        "livechat": 3000, "cardqa": 1500}
    assert result["3i4k"]["labels"] == {"normal": 1, "question": 1}
    assert all_files(tmp_path / "home" / "downloads") == sorted(
        f"{d}/{f}" for d, _, _, f in FILES)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["origin"] == ("download:" + ",".join(
        sorted(f"{repo}@{COMMIT}" for _, repo, _, _ in FILES)))
    assert len(server.requests) == len(FILES)


def test_cli_download_flag_forces_download_from_mirror(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path / "home"))
    local = tmp_path / "local"                    # a local copy exists but is not used
    (local / "3i4k").mkdir(parents=True)
    (local / "3i4k" / "x.txt").write_text("1\t로컬\n", encoding="utf-8")
    monkeypatch.setattr(data_import, "default_shared", lambda: local)
    out = tmp_path / "raw"
    assert cli_main(["data", "import", "--download", "--mirror", server.url, "-o", str(out),
                     "--no-dvc", "--dataset", "3i4k"]) == 0
    assert "3i4k: {'rows': 2" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["origin"].startswith("download:")
    assert cli_main(["data", "import", "--shared", str(local), "--download", "-o", str(out),
                     "--no-dvc"]) == 2
    assert "either a local --shared folder or --download" in capsys.readouterr().err


def test_sha256_mismatch_is_an_error_and_writes_nothing(server, tmp_path, monkeypatch):
    sources = list(data_download.SOURCES)
    wrong = "f" * 64
    sources[-1] = Source(**{**sources[-1].__dict__, "sha256": wrong})
    monkeypatch.setattr(data_download, "SOURCES", tuple(sources))
    dest = tmp_path / "dl"
    with pytest.raises(DataImportError) as err:
        download(dest, server.url)
    message = str(err.value)
    assert sources[-1].url(server.url) in message and "sha256 mismatch" in message
    assert f"expected {wrong}" in message and sources[-1].target in message
    assert len(server.requests) == len(FILES)     # all fetched, none kept
    assert not dest.exists()


def test_http_error_names_url_and_keeps_cached_files(server, tmp_path, monkeypatch):
    dest = tmp_path / "dl"
    download(dest, server.url)
    before = {p: (dest / p).read_bytes() for p in all_files(dest)}
    missing = Source("3i4k", "o/3i4k", COMMIT, "gone.txt", "gone.txt", "0" * 64)
    monkeypatch.setattr(data_download, "SOURCES", (*data_download.SOURCES, missing))
    with pytest.raises(DataImportError, match=re.escape(missing.url(server.url)) + ": HTTP 404"):
        download(dest, server.url)
    assert {p: (dest / p).read_bytes() for p in all_files(dest)} == before


def test_connection_error_says_offline(server, tmp_path):
    with socket.socket() as sock:                 # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DataImportError, match=r"offline\?"):
        download(tmp_path / "dl", f"http://127.0.0.1:{port}")
    assert not (tmp_path / "dl").exists()


@pytest.mark.parametrize("url,why", [
    ("http://example.com", "plain http is allowed only for loopback"),
    ("http://10.0.0.1:8080/mirror", "plain http is allowed only for loopback"),
    ("ftp://127.0.0.1/x", "expected an https://")])
def test_plain_http_mirror_off_loopback_is_refused(server, tmp_path, monkeypatch, url, why):
    with pytest.raises(DataImportError, match=f"mirror {re.escape(url)}: {why}"):
        download(tmp_path / "dl", url)
    monkeypatch.setenv(data_download.BASE_URL_ENV, url)
    with pytest.raises(DataImportError, match=why):
        download(tmp_path / "dl", None)
    assert not (tmp_path / "dl").exists() and server.requests == []


@pytest.mark.parametrize("url", ["http://localhost:1/m", "http://127.0.0.9", "http://[::1]:8",
                                 "https://mirror.example.org/raw/"])
def test_loopback_http_and_any_https_mirror_are_allowed(url):
    assert data_download.check_base_url(url) == url.rstrip("/")


def test_second_download_uses_cache(server, tmp_path):
    dest = tmp_path / "dl"
    download(dest, server.url)
    assert len(server.requests) == len(FILES)
    download(dest, server.url)
    assert len(server.requests) == len(FILES)
    target = dest / data_download.SOURCES[0].target
    target.write_text("corrupted|1\n", encoding="utf-8")   # a changed file is fetched again
    download(dest, server.url)
    assert server.requests[len(FILES):] == [f"/o/curse/{COMMIT}/dataset.txt"]
    assert target.read_bytes() == server.files[f"/o/curse/{COMMIT}/dataset.txt"]


def test_sources_are_pinned_and_fit_the_readers():
    assert {s.dataset for s in data_download.SOURCES} == set(data_import.DATASETS)
    for src in data_download.SOURCES:
        assert re.fullmatch(r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+",
                            src.url()), src
        assert src.url().endswith("/" + src.path) and COMMIT not in src.url()
        assert re.fullmatch(r"[0-9a-f]{64}", src.sha256), src
        assert Path(src.file).match(data_import.DATASETS[src.dataset].pattern), src
    targets = [s.target for s in data_download.SOURCES]
    assert len(targets) == len(set(targets))
