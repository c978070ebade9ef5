"""Load a GGUF checkpoint through transformers without parsing the file over and over.

transformers loads a GGUF checkpoint of most architectures (Gemma 3 among them) through gguf-py, and it
repeats the expensive parts:

* it builds a ``gguf.GGUFReader`` each time it needs the file (for the config in
  ``AutoTokenizer.from_pretrained(..., gguf_file=...)``, and for the config, then the tensors, in
  ``AutoModelForCausalLM.from_pretrained(..., gguf_file=...)``). The reader walks every metadata array
  element by element through ``np.memmap`` views, whose slicing is Python code: for a 262,144-token
  vocabulary (tokens, scores, token types) that is tens of seconds per reader;
* it builds a ``gguf.TensorNameMap`` (the GGUF-to-transformers tensor names) for every submodule of the
  model, hundreds of times, always for the same architecture and depth.

:func:`fast_gguf_loading` fixes both for the duration of a ``with`` block, so a notebook keeps the
canonical calls::

    with fast_gguf_loading():
        lm = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)

Inside the block ``gguf.GGUFReader`` gives a :class:`BulkGGUFReader`, one per file (parsed once, then
reused), and ``gguf.get_tensor_name_map`` one map per (architecture, depth). Both give what gguf-py
gives: the same fields, part for part, and the same name map. Tensor data is untouched.

:func:`gguf_to_float32` uses it to turn a quantized GGUF file into an ordinary float32 transformers
folder once, so that later runs load the model with a plain ``from_pretrained(folder)`` in about a second.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal
from unittest import mock

import gguf
import numpy as np
import numpy.typing as npt
from gguf import GGUFReader, GGUFValueType

__all__ = ["BulkGGUFReader", "fast_gguf_loading", "gguf_to_float32"]


class BulkGGUFReader(GGUFReader):
    """``gguf.GGUFReader`` that reads metadata arrays of numbers or strings in bulk (same fields, faster).

    An array is read with one view of the file and plain ``ndarray`` slices instead of one ``np.memmap``
    view per element. Byte-swapped files and arrays of arrays go through gguf-py's own code.
    """

    def _get_field_parts(
        self, orig_offs: int, raw_type: int
    ) -> tuple[int, list[npt.NDArray[Any]], list[int], list[GGUFValueType]]:
        if raw_type != GGUFValueType.ARRAY or self.byte_order != "I":
            return super()._get_field_parts(orig_offs, raw_type)
        raw_itype = self._get(orig_offs, np.uint32)
        item_type = GGUFValueType(int(raw_itype[0]))
        scalar = self.gguf_scalar_to_np.get(item_type)
        if scalar is None and item_type != GGUFValueType.STRING:  # an array of arrays
            return super()._get_field_parts(orig_offs, raw_type)
        alen = self._get(orig_offs + 4, np.uint64)
        count = int(alen[0])
        offs = orig_offs + 12
        flat = self.data.view(np.ndarray)  # the same bytes, sliced without np.memmap's Python-level hooks
        # gguf-py's layout: the item type, the length, then each element's parts; `data` points at the values
        parts: list[npt.NDArray[Any]] = [raw_itype, alen]
        if scalar is not None:
            width = np.dtype(scalar).itemsize
            values = flat[offs : offs + width * count].view(scalar)
            parts += [values[i : i + 1] for i in range(count)]
            data = list(range(2, 2 + count))
            offs += width * count
        else:  # strings: each an 8-byte length (in host order here), then its bytes
            buffer = flat.data
            for _ in range(count):
                (length,) = struct.unpack_from("=Q", buffer, offs)
                parts += [flat[offs : offs + 8].view(np.uint64), flat[offs + 8 : offs + 8 + length]]
                offs += 8 + length
            data = list(range(3, 2 + 2 * count, 2))
        types = [GGUFValueType.ARRAY] + ([item_type] if count else [])
        return offs - orig_offs, parts, data, types


@contextmanager
def fast_gguf_loading() -> Iterator[None]:
    """Within the block, gguf-py's reader and tensor-name map are built once per file and per model shape.

    Applies to code that looks them up when it runs (``from gguf import GGUFReader`` inside a function,
    as transformers' GGUF loader does). A file changed on disk inside the block is parsed again.
    """
    readers: dict[tuple[str, int, int], GGUFReader] = {}

    def reader(path: os.PathLike[str] | str, mode: Literal["r", "r+", "c"] = "r") -> GGUFReader:
        if mode != "r":  # a writable map: no sharing
            return BulkGGUFReader(path, mode)
        stat = os.stat(path)
        key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
        if key not in readers:
            readers[key] = BulkGGUFReader(path)
        return readers[key]

    name_map = functools.cache(gguf.get_tensor_name_map)
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(gguf, "GGUFReader", reader))
        stack.enter_context(mock.patch.object(gguf, "get_tensor_name_map", name_map))
        try:
            yield
        finally:
            readers.clear()


def gguf_to_float32(gguf_path: os.PathLike[str] | str, out: os.PathLike[str] | str) -> None:
    """Dequantize a causal language model's GGUF file into a float32 transformers folder ``out``.

    The folder holds the model (safetensors, config) and its tokenizer, and loads with
    ``AutoModelForCausalLM.from_pretrained(out)`` and ``AutoTokenizer.from_pretrained(out)``, with no
    GGUF parsing and no quantization settings left. The GGUF file is read, never changed. Meant to run
    once per model, inside :func:`course_utils.offline.build_once`.
    """
    import torch  # heavy: imported only when converting
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path, out = Path(gguf_path), Path(out)
    if not gguf_path.is_file():
        raise FileNotFoundError(f"{gguf_path}: no GGUF file there; reinstall the package that ships the model")
    with fast_gguf_loading():  # transformers alone would parse the file three times, slowly
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
    model.hf_quantizer = None  # type: ignore[assignment]  # plain float32 tensors now: save them as such
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
