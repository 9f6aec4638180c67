"""Run ADTK detectors; executed by the Python of ADTK's own environment (pandas < 2).

Usage: ``python adtk_runner.py IN.npz SETTINGS.json OUT.npz``. ``IN.npz`` holds
``values`` (buckets x products, float, NaN = missing) and ``stamps`` (int64 ns, UTC);
``SETTINGS.json`` a list of ``{"detector": "persist" | "levelshift", ...parameters}``.
``OUT.npz`` gets ``flags`` (settings x buckets x products, bool) and ``seconds``.
This file imports neither `spikes` nor the other peers.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
from adtk.data import validate_series
from adtk.detector import LevelShiftAD, PersistAD

DETECTORS = {"persist": PersistAD, "levelshift": LevelShiftAD}


def main(argv: list[str]) -> None:
    """Read the inputs, run every setting on every product, write the flags."""
    src, settings_path, dst = argv
    data = np.load(src)
    index = pd.DatetimeIndex(pd.to_datetime(data["stamps"], unit="ns"))
    frame = pd.DataFrame(data["values"], index=index)
    frame.index.freq = pd.infer_freq(index[:10])
    frame = validate_series(frame)
    with open(settings_path, encoding="utf-8") as handle:
        settings = json.load(handle)
    flags = np.zeros((len(settings), *frame.shape), dtype=bool)
    seconds = np.zeros(len(settings))
    for i, setting in enumerate(settings):
        params = {k: v for k, v in setting.items() if k != "detector"}
        start = time.process_time()
        for j, column in enumerate(frame.columns):
            detector = DETECTORS[setting["detector"]](**params)
            result = detector.fit_detect(frame[column])
            flags[i, :, j] = result.fillna(False).to_numpy(dtype=bool)
        seconds[i] = time.process_time() - start
    np.savez(dst, flags=flags, seconds=seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
