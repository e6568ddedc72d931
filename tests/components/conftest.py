"""Fixtures for the data-import tests: a tiny shared-data folder in each dataset's format.

The lines are the tests' own short Korean sentences (never rows of the real datasets).
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

# file -> content, in each dataset's original format.
SHARED_FILES = {
    "curse-detection/dataset.txt": (
        "너 진짜 바보 같다|1\n"
        "오늘 점심 맛있었다|0\n"
        "가위|바위|보 하자|0\n"                                  # '|' inside the text
        f"{unicodedata.normalize('NFD', '안녕   하세요')}|0\n"      # NFD + spaces: normalised
        "|0\n"                                                   # empty text: skipped
        "\n"                                                     # blank line: skipped
    ),
    "korean-hate-speech/train.tsv": (
        "comments\tcontain_gender_bias\tbias\thate\n"
        "이런 기사 쓰는 기자는 머리가 비었냐\tFalse\tnone\toffensive\n"
        "저 사람들은 다 없어져야 한다\tFalse\tothers\thate\n"
        "좋은 소식이네요 축하합니다\tFalse\tnone\tnone\n"
    ),
    "3i4k/fci_train_val.txt": (
        "2\t지금 몇 시야\n"
        "4\t그걸 누가 모르냐\n"
        "1\t비가 온다\n"
        "3\t문 좀 닫아줘\n"
        "0\t음\n"
    ),
    "chatbot-data/ChatbotData.csv": (
        "Q,A,label\n"
        "배고파,뭐라도 드세요.,0\n"
        '"안녕, 반가워","나도, 반가워요.",0\n'                     # quoted commas
        ",질문이 비었어요,0\n"                                   # empty question: skipped
        "헤어졌어,힘내세요.,1\n"
    ),
}


def write_shared(root: Path, replace: dict[str, str] | None = None) -> Path:
    """Write the tiny shared folder under `root` (with some files' content replaced)."""
    for name, content in {**SHARED_FILES, **(replace or {})}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def shared(tmp_path) -> Path:
    """A tiny shared-data folder with all four datasets."""
    return write_shared(tmp_path / "shared")


@pytest.fixture
def make_shared(tmp_path):
    """Factory: a shared folder with some files replaced, e.g. make_shared({path: text})."""
    return lambda replace=None, name="shared": write_shared(tmp_path / name, replace)
