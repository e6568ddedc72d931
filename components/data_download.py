"""Download the public datasets from their upstream repositories, pinned by commit and sha256.

`download(dest)` lays the files out as `<dest>/<dataset>/<file>`, the same folder shape as
`../shared/data`, so components.data_import reads them unchanged. Upstream keeps CRLF line
ends in some files; the readers strip them. Upstream ↔ shared layout:

- curse-detection: `dataset.txt` (the shared copy is this file, LF, minus held-back rows),
- korean-hate-speech: `labeled/train.tsv` (byte-identical; `labeled/dev.tsv` and the
  unlabeled test set are not in the shared copy and not used),
- 3i4k: `data/train_val_test/fci_train_val.txt` (train+val; the test split is not used),
- chatbot-data: `ChatbotData.csv`.
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from components.config import sha256_file
from components.data_import import DataImportError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
BASE_URL_ENV = "CHATLOOP_DATA_BASE_URL"


@dataclass(frozen=True)
class Source:
    """One upstream file: `repo` at `commit`, its `path` there, and where it goes locally."""
    dataset: str
    repo: str        # OWNER/REPO on GitHub
    commit: str      # 40-hex commit
    path: str        # path inside the repository
    file: str        # file name under `<dest>/<dataset>/`
    sha256: str

    def url(self, base_url: str = DEFAULT_BASE_URL) -> str:
        return f"{base_url.rstrip('/')}/{self.repo}/{self.commit}/{self.path}"

    @property
    def target(self) -> str:
        return f"{self.dataset}/{self.file}"


SOURCES: tuple[Source, ...] = (
    Source("curse-detection", "2runo/Curse-detection-data",
           "ff241621e103b6f220d30de324d0d07987887308", "dataset.txt", "dataset.txt",
           "1c3489417e4972dbbbdde19cc47bb8638292891f7f1a443ecbdc2e3c6843545a"),
    Source("korean-hate-speech", "kocohub/korean-hate-speech",
           "f8d05dce2b22007bb149e5139c0060c68ad8f94b", "labeled/train.tsv", "train.tsv",
           "ebebacdcd023af2c4acc8c0a37695fb6433ac04fc009feff8f222724e303a5a9"),
    Source("3i4k", "warnikchow/3i4k",
           "cfa90c15f808becafca2d8ef8649b8b71f6bbe71", "data/train_val_test/fci_train_val.txt",
           "fci_train_val.txt",
           "646f450b84992c6df806ea72aa35374db7ec30d7739920b86dfa878e73b69079"),
    Source("chatbot-data", "songys/Chatbot_data",
           "4cf20d13fc46f5037fd1c531cd566e2dd9f72974", "ChatbotData.csv", "ChatbotData.csv",
           "287eb129695b577321c80ad397bb3c2279164d4ca577874d129fd3db5b30afe2"),
)


def origin() -> str:
    """The manifest's `origin` for downloaded data: `download:<repo@commit,...>`."""
    return "download:" + ",".join(sorted({f"{s.repo}@{s.commit}" for s in SOURCES}))


def check_base_url(base_url: str) -> str:
    """The base URL without its trailing `/`; https anywhere, plain http only on loopback."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return base_url.rstrip("/")
    if parts.scheme == "http" and host:
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return base_url.rstrip("/")
        raise DataImportError(f"mirror {base_url}: plain http is allowed only for loopback "
                              "hosts (127.0.0.0/8, localhost, ::1); use https")
    raise DataImportError(f"mirror {base_url}: expected an https:// (or loopback http://) URL")


def _fetch(client: httpx.Client, src: Source, url: str, into: Path) -> None:
    """Stream `url` into `into`, checking its status and sha256."""
    digest = hashlib.sha256()
    try:
        with client.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise DataImportError(f"{url}: HTTP {resp.status_code} {resp.reason_phrase}")
            with open(into, "wb") as fh:
                for chunk in resp.iter_bytes():
                    digest.update(chunk)
                    fh.write(chunk)
    except httpx.TransportError as exc:
        raise DataImportError(f"cannot download {url}: {exc!r} (offline? use --shared DIR "
                              f"with a local copy, or --mirror URL)") from None
    if digest.hexdigest() != src.sha256:
        raise DataImportError(f"{url} ({src.target}): sha256 mismatch: expected {src.sha256}, "
                              f"got {digest.hexdigest()}")


def download(dest: Path, base_url: str | None = None) -> Path:
    """Fetch every SOURCES file into `dest/<dataset>/<file>`; returns `dest`.

    Files already there with the right sha256 are kept (a cache). The rest are downloaded
    into a staging folder inside `dest` and moved into place only when all are verified, so
    a failure leaves `dest` as it was. `base_url` (or $CHATLOOP_DATA_BASE_URL) replaces
    https://raw.githubusercontent.com, e.g. for a mirror.
    """
    base = check_base_url(base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
    dest = Path(dest)
    missing = [s for s in SOURCES
               if not ((dest / s.target).is_file() and sha256_file(dest / s.target) == s.sha256)]
    if not missing:
        log.info("datasets already downloaded in %s (sha256 checked)", dest)
        return dest
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".downloading-", dir=dest))
    try:
        with httpx.Client(verify=True, timeout=httpx.Timeout(60.0, connect=15.0)) as client:
            for i, src in enumerate(missing):
                url = src.url(base)
                log.info("downloading %s", url)
                _fetch(client, src, url, staging / str(i))
        for i, src in enumerate(missing):
            (dest / src.dataset).mkdir(exist_ok=True)
            os.replace(staging / str(i), dest / src.target)
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest
