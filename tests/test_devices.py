"""Device discovery and choice, with CuPy absent and with a fake CuPy."""

from __future__ import annotations

import sys
import types

import pytest

from bgocr_nb.devices import CPU, Device, DeviceList, devices, select_device
from bgocr_nb.errors import DeviceError

GIB = 1024**3


def fake_cupy(gpus):
    """A stand-in for the few CuPy calls devices.py makes."""
    runtime = types.SimpleNamespace(
        getDeviceCount=lambda: len(gpus),
        getDeviceProperties=lambda i: {"name": gpus[i][0].encode(), "major": 8, "minor": 0},
    )
    current = {"i": 0}

    class FakeDevice:
        def __init__(self, i):
            self.i = i

        def __enter__(self):
            current["i"] = self.i

        def __exit__(self, *exc):
            return False

    runtime.memGetInfo = lambda: (gpus[current["i"]][2], gpus[current["i"]][1])
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime, Device=FakeDevice))


def test_without_cupy_only_the_cpu(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    devs = devices()
    assert [d.id for d in devs] == ["cpu"]
    assert "CuPy is not importable" in devs.gpu_unavailable_reason
    sel = select_device("auto", available=devs)
    assert sel.device == CPU and "no GPU" in sel.reason


def test_cupy_without_driver(monkeypatch):
    def broken():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    cupy = fake_cupy([])
    cupy.cuda.runtime.getDeviceCount = broken
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    devs = devices()
    assert len(devs) == 1 and "no CUDA-capable device" in devs.gpu_unavailable_reason
    with pytest.raises(DeviceError, match="no GPU can be used.*Valid choices: 'cpu', 'auto'"):
        select_device(0, available=devs)
    with pytest.raises(DeviceError, match="A GPU was requested"):
        select_device("gpu", available=devs)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy",
                        fake_cupy([("A100", 40 * GIB, 10 * GIB), ("H100", 80 * GIB, 70 * GIB)]))
    return devices()


def test_lists_gpus_with_memory(two_gpus):
    assert [d.id for d in two_gpus] == ["cpu", "gpu:0", "gpu:1"]
    h100 = two_gpus[2]
    assert (h100.name, h100.total_memory, h100.free_memory, h100.compute_capability) == \
        ("H100", 80 * GIB, 70 * GIB, "8.0")
    assert "H100" in h100.describe() and "70.0 of 80.0 GiB" in h100.describe()
    assert list(two_gpus.to_dataframe().index) == ["cpu", "gpu:0", "gpu:1"]
    assert "<table>" in two_gpus._repr_html_()


@pytest.mark.parametrize("spec, expected", [
    ("auto", "gpu:1"), (None, "gpu:1"), ("gpu", "gpu:1"), ("cpu", "cpu"), ("CPU", "cpu"),
    ("gpu:0", "gpu:0"), (0, "gpu:0"), ("1", "gpu:1"),
])
def test_select(two_gpus, spec, expected):
    sel = select_device(spec, available=two_gpus)
    assert sel.device.id == expected and sel.reason


def test_auto_says_why(two_gpus):
    assert select_device("auto", available=two_gpus).reason == "GPU 1 has the most free memory"


@pytest.mark.parametrize("spec, message", [
    (5, r"GPU 5 does not exist. Valid choices: 'cpu', 'gpu:0', 'gpu:1', 'auto'"),
    ("gpu:7", r"GPU 7 does not exist"),
    ("tpu", r"Unknown device 'tpu'"),
    (1.5, r"must be 'auto'"),
    (True, r"must be 'auto'"),
])
def test_bad_requests(two_gpus, spec, message):
    with pytest.raises(DeviceError, match=message):
        select_device(spec, available=two_gpus)


def test_device_list_is_a_sequence():
    devs = DeviceList([CPU, Device("gpu", 0, "X", 1, 1, "9.0")])
    assert len(devs) == 2 and devs.gpus[0].id == "gpu:0" and "CPU" in repr(devs)
