"""model.packed_weights: an external-data file packed with xz and read back from memory, losslessly."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.external_data_helper
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from model.onnx_classifier import OnnxTextClassifier
from model.packed_weights import PACKED_SUFFIX, pack_file, unpack_file, unpacked_name


def _gather_model(directory, table: np.ndarray, location: str) -> str:
    """A one-node model (rows of ``table`` by index) whose table is external data in ``location``."""
    init = numpy_helper.from_array(table, "table")
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["rows"])],
        "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [None])],
        [helper.make_tensor_value_info("rows", TensorProto.FLOAT, [None, table.shape[1]])],
        [init],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = directory / "m.onnx"
    (directory / location).write_bytes(b"\0" * 4096 + table.tobytes())
    onnx.external_data_helper.set_external_data(model.graph.initializer[0], location, 4096, table.nbytes)
    model.graph.initializer[0].data_location = TensorProto.EXTERNAL
    model.graph.initializer[0].ClearField("raw_data")
    onnx.save(model, str(path))
    return str(path)


def test_packing_gives_every_byte_back_and_a_session_reads_it_from_memory(tmp_path):
    table = np.random.default_rng(0).integers(-3, 4, size=(500, 16)).astype(np.float32)
    model = _gather_model(tmp_path, table, "w.bin")
    raw = (tmp_path / "w.bin").read_bytes()
    packed = pack_file(tmp_path / "w.bin")
    assert packed.name == "w.bin" + PACKED_SUFFIX and not (tmp_path / "w.bin").exists()
    assert packed.stat().st_size < len(raw) and unpack_file(packed) == raw
    assert (
        unpacked_name(packed.name) == "w.bin"
        and unpacked_name("w.bin") is None
        and unpacked_name(".xz") is None
    )

    # What OnnxTextClassifier's external_files does, on a model it cannot wrap (no tokenizer here).
    options = ort.SessionOptions()
    contents = unpack_file(packed)
    options.add_external_initializers_from_files_in_memory(["w.bin"], [contents], [len(contents)])
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(session.run(None, {"ids": np.array([3, 499])})[0], table[[3, 499]])


def test_bad_packed_files_are_refused_with_what_to_do(tmp_path):
    (tmp_path / "junk.xz").write_bytes(b"not xz at all")
    with pytest.raises(ValueError, match=r"junk\.xz is not an intact xz file .*rebuild the release"):
        unpack_file(tmp_path / "junk.xz")
    with pytest.raises(ValueError, match="must not be packed already"):
        pack_file(tmp_path / "junk.xz")


def test_the_classifier_says_how_to_load_a_model_whose_external_file_is_packed(tmp_path):
    model = _gather_model(tmp_path, np.ones((8, 4), dtype=np.float32), "w.bin")
    pack_file(tmp_path / "w.bin")
    with pytest.raises(FileNotFoundError, match=r"w\.bin.*load_bundle, or unpack the file beside the model"):
        OnnxTextClassifier(model, tokenizer=None)  # type: ignore[arg-type]
