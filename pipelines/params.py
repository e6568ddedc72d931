"""params.yaml <-> the pipeline's `params: dict` parameter.

KFP carries a dict parameter as a protobuf Struct: it has no null, and every number comes
back as a float (`epochs: 3` arrives as `3.0`). `to_struct` checks before a run or compile;
`from_struct` (called inside each component) turns whole floats back into ints.
"""
from __future__ import annotations

from typing import Any


def to_struct(params: dict, prefix: str = "params") -> dict:
    """`params` unchanged, or ValueError naming the first value KFP cannot carry."""
    def check(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ValueError(f"{where}: key {key!r} must be a string for KFP")
                check(item, f"{where}.{key}")
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                check(item, f"{where}[{i}]")
        elif value is None or not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"{where} is {value!r}: a KFP parameter holds only strings, "
                             "numbers, booleans, lists and mappings (no null)")
    check(params, prefix)
    return params


def from_struct(value: Any) -> Any:
    """Undo the Struct round trip: whole floats become ints again, recursively."""
    if isinstance(value, dict):
        return {key: from_struct(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_struct(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
