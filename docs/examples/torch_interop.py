"""The PyTorch side of the interop example in docs/training.md.

    python3 docs/examples/torch_interop.py DIR

1. lurn -> PyTorch: loads DIR/model.safetensors (written by `lurn export`)
   into a torch model whose state_dict keys are lurn's names, and
   DIR/lstm.safetensors (`lurn export ... --prefix 1.`) into a bare
   torch.nn.LSTM; runs the batch of DIR/io.safetensors and compares with
   lurn's outputs.
2. PyTorch -> lurn: writes a freshly initialised torch model to
   DIR/torch_model.safetensors and its outputs on the batch to
   DIR/torch_io.safetensors, for `torch_interop.lua check`.
Needs only numpy and torch (no safetensors package).
"""
import json
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": np.float32, "I32": np.int32, "U8": np.uint8}
NAMES = {np.dtype("float32"): "F32", np.dtype("int32"): "I32", np.dtype("uint8"): "U8"}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[e["dtype"]])
        tensors[name] = torch.from_numpy(arr.reshape(e["shape"]).copy())
    return tensors, meta


def write_safetensors(path, tensors):
    header, offset, chunks = {}, 0, []
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().numpy())
        header[name] = {"dtype": NAMES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        chunks.append(a.tobytes())
    h = json.dumps(header).encode()
    h += b" " * (-(8 + len(h)) % 8)  # data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def make_model():
    # Children named "0", "1", "3" like lurn's nn.Sequential positions, so the
    # state_dict keys are lurn's parameter names ("2" is the parameterless Pool).
    return torch.nn.ModuleDict({
        "0": torch.nn.Embedding(20, 8, padding_idx=0),
        "1": torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True),
        "3": torch.nn.Linear(32, 2),
    })


def forward(m, ids, lengths):
    """lurn's Embedding -> LSTM (packed: lengths respected) -> mean over valid steps -> Linear."""
    x = m["0"](ids.long())                                   # [T, B, 8]
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths.long(), enforce_sorted=False)
    out, (h_n, c_n) = m["1"](packed)
    y, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=ids.shape[0])  # [T, B, 32]
    pooled = y.sum(0) / lengths.float().unsqueeze(1)
    return {"logits": m["3"](pooled), "y": y, "h_n": h_n, "c_n": c_n}


def main(d):
    io, _ = read_safetensors(d + "/io.safetensors")
    ids, lengths = io["ids"], io["lengths"]

    # 1. lurn -> PyTorch, the whole model: names are state_dict keys as they are.
    weights, meta = read_safetensors(d + "/model.safetensors")
    model = make_model()
    model.load_state_dict(weights)                # strict: every key must match
    with torch.no_grad():
        out = forward(model, ids, lengths)
    for k in ("logits", "y", "h_n", "c_n"):
        diff = (out[k] - io[k]).abs().max().item()
        print(f"{k:7s} {str(list(out[k].shape)):12s} max |torch - lurn| = {diff:.2e}")
        assert diff < 1e-5, k

    # ... and the LSTM alone (exported with --prefix 1.) into a bare torch.nn.LSTM.
    lstm = torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True)
    lstm.load_state_dict(read_safetensors(d + "/lstm.safetensors")[0])
    for k, v in lstm.state_dict().items():
        assert torch.equal(v, model["1"].state_dict()[k]), k
    print("lurn weights in PyTorch: outputs match; bare torch.nn.LSTM loaded",
          len(lstm.state_dict()), "tensors")

    # 2. PyTorch -> lurn: a fresh torch model, its weights and outputs.
    torch.manual_seed(0)
    fresh = make_model()
    write_safetensors(d + "/torch_model.safetensors", fresh.state_dict())
    with torch.no_grad():
        ref = forward(fresh, ids, lengths)
    write_safetensors(d + "/torch_io.safetensors", ref)
    print("wrote", d + "/torch_model.safetensors")


if __name__ == "__main__":
    main(sys.argv[1])
