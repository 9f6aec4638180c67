"""Engines: the local engine, a Dask LocalCluster and a separately started Dask cluster
give the same incidents; Parquet and directories in, Parquet out; clear errors.

Real Dask, on the loopback interface only, started and stopped by the fixtures.
"""

from __future__ import annotations

import gzip
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spikes.cli import main
from spikes.detect.pipeline import analyze
from spikes.engine.base import LocalEngine, product_partitions
from spikes.engine.choice import make_engine
from spikes.engine.run import detect
from spikes.errors import SpikesInputError, SpikesRunError
from spikes.io.buckets import load_reports
from spikes.io.datasets import is_dataset_input, open_dataset, read_partition
from tests.dask_cluster import cluster

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "reports.csv.gz"

#: Products: enough for two partitions of 50+ products.
PRODUCTS = 110


def _read(path, like: pd.DataFrame) -> pd.DataFrame:
    """An incidents Parquet file, with the column types of `like` (text columns come back
    as pandas strings)."""
    return pd.read_parquet(path).astype(like.dtypes.to_dict())


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Simulated long counts, as a table, a CSV, a Parquet file and a folder of two."""
    from spikes.evaluation.simulate import simulate

    folder = tmp_path_factory.mktemp("engine")
    sim = simulate(products=[f"S{i:03d}" for i in range(PRODUCTS)], days=4, seed=11)
    table = sim.reports.sort_values(["product", "timestamp"], kind="stable")
    table["product"] = table["product"].astype(str)
    csv, parquet, parts = folder / "r.csv", folder / "r.parquet", folder / "parts"
    table.to_csv(csv, index=False)
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), parquet,
                   row_group_size=len(table) // 11)
    parts.mkdir()
    half = table["product"] < "S055"
    pq.write_table(pa.Table.from_pandas(table[half], preserve_index=False), parts / "a.parquet")
    table[~half].to_csv(parts / "b.csv", index=False)
    data = load_reports(csv)
    found = analyze(data)
    return {"folder": folder, "csv": csv, "parquet": parquet, "parts": parts, "data": data,
            "expected": found.incidents, "events": found.events}


# The clusters serve the tests at the end of the module (see "Real Dask clusters" below):
# module-scoped fixtures stop at the module's end, and an idle cluster's processes keep
# using CPU until then.
@pytest.fixture(scope="module")
def dask_local():
    """A Dask LocalCluster of 2 worker processes, for the module's tests."""
    engine = make_engine("dask", jobs=2)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A scheduler and 2 workers started as separate processes, as on a real cluster."""
    with cluster(tmp_path_factory.mktemp("cluster"), workers=2) as address:
        yield address


def test_partitions_cover_the_products_in_order():
    products = [f"p{i:03d}" for i in range(1000)]
    parts = product_partitions(products, 2)
    assert sum(parts, []) == products and len(parts) == 8
    assert product_partitions(products, 1) == [products]
    assert max(map(len, product_partitions(products, 1, bounded=True))) <= 250
    assert product_partitions(products[:60], 4) == [products[:60]]


def test_local_engine_in_workers_matches_one_process(reports):
    expected = reports["expected"]
    assert len(expected) > 20
    with LocalEngine(jobs=2) as engine:
        found = detect(reports["data"], engine=engine)
        pd.testing.assert_frame_equal(found.incidents, expected)
        pd.testing.assert_frame_equal(analyze(reports["data"], engine=engine).incidents,
                                      expected)


class _Unpicklable:
    """Data that cannot cross a pipe: a worker can only have inherited it."""

    def __init__(self, values: list[int]) -> None:
        self.values = values

    def __reduce__(self):
        raise TypeError("sent to a worker by pickling")


def _take(whole: _Unpicklable, part: tuple[int, int]) -> _Unpicklable:
    return _Unpicklable(whole.values[part[0]:part[1]])


def _total(part: _Unpicklable, offset: int) -> tuple[int, int]:
    return os.getpid(), sum(part.values) + offset


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork-only path")
def test_local_engine_forked_workers_inherit_the_whole_data():
    whole = _Unpicklable(list(range(100)))
    parts = [(i, i + 10) for i in range(0, 100, 10)]
    expected = [sum(range(a, b)) + 5 for a, b in parts]
    with LocalEngine(jobs=2) as engine:
        found = engine.map_parts(_total, whole, parts, select=_take, args=(5,))
    assert [total for _, total in found] == expected
    assert os.getpid() not in {pid for pid, _ in found}  # run in the workers
    # Neither the whole nor a part was pickled: the workers selected their parts from
    # the data they inherited. Sending the parts (the default) cannot work here.
    with pytest.raises(TypeError, match="pickling"):
        pickle.dumps(_take(whole, parts[0]))
    one = LocalEngine(jobs=1).map_parts(_total, whole, parts, select=_take, args=(5,))
    assert one == [(os.getpid(), total) for total in expected]


def test_parquet_in_and_out_round_trips(reports, tmp_path):
    from_csv, from_parquet = tmp_path / "a.csv", tmp_path / "b.parquet"
    assert main(["analyze", str(reports["csv"]), "-o", str(from_csv), "--jobs", "1"]) == 0
    assert main(["analyze", str(reports["parquet"]), "-o", str(from_parquet),
                 "--events-output", str(tmp_path / "events.parquet"), "--jobs", "1"]) == 0
    written = _read(from_parquet, reports["expected"])
    pd.testing.assert_frame_equal(written, reports["expected"])
    assert len(pd.read_csv(from_csv)) == len(written)
    assert len(pd.read_parquet(tmp_path / "events.parquet")) == written["event_id"].nunique()


def test_a_folder_or_glob_of_parquet_and_csv_is_one_dataset(reports):
    expected = reports["expected"]
    folder = open_dataset([str(reports["parts"])])
    assert len(folder.products) == PRODUCTS and len(folder.files) == 2
    pd.testing.assert_frame_equal(detect(folder, jobs=1).incidents, expected)
    globbed = open_dataset([str(reports["parts"] / "*")])
    assert globbed.files == folder.files
    counts = read_partition(folder, ["S054", "S055"])
    pd.testing.assert_frame_equal(counts, reports["data"].counts[["S054", "S055"]],
                                  check_freq=False)


def test_inputs_that_need_the_dataset_reader():
    assert not is_dataset_input(["a.csv", "b.csv.gz"])
    assert is_dataset_input(["a.parquet"]) and is_dataset_input(["data/*.csv"])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"PAR1 this is not parquet"), "not a readable Parquet file"),
        (lambda p: pq.write_table(pa.table({"timestamp": [1, 2], "reports": [1, 2]}), p),
         "no product column"),
        (lambda p: pq.write_table(pa.table({"timestamp": ["2026-01-01T00:00Z"] * 2,
                                            "product": ["a", "b"], "reports": ["x", "y"]}), p),
         "column 'reports': expected numbers"),
        (lambda p: pq.write_table(pa.table({"timestamp": [1.5, 2.5], "product": ["a", "b"],
                                            "reports": [1, 2]}), p),
         "column 'timestamp': expected timestamps"),
    ],
    ids=["not-parquet", "no-product", "text-counts", "float-timestamps"],
)
def test_a_bad_parquet_file_is_named_with_its_problem(tmp_path, capsys, make, message):
    path = tmp_path / "bad.parquet"
    make(path)
    with pytest.raises(SpikesInputError, match=message):
        open_dataset([str(path)])
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad.parquet" in err and message in err


def _csv_folder(tmp_path, **files: str):
    folder = tmp_path / "reports"
    folder.mkdir()
    for name, body in files.items():
        (folder / f"{name}.csv").write_text(body)
    return str(folder)


HEADER = "timestamp,product,count\n"


def test_a_folder_of_csv_reads_names_as_a_single_file_does(tmp_path):
    # "007" stays 007 (not 7), " Outlook" is Outlook, and a file of a header only (a
    # day without reports) is no error.
    rows = "".join(f"2024-03-01T00:{m:02d}:00Z,{p},{m}\n" for m in range(0, 60, 5)
                   for p in ("007", " Outlook", "Outlook"))
    clean = "".join(f"2024-03-01T00:{m:02d}:00Z,{p},1\n" for m in range(0, 60, 5)
                    for p in ("NA", "Outlook"))
    folder = _csv_folder(tmp_path, day1=HEADER + rows, day2=HEADER, day3=HEADER + clean)
    dataset = open_dataset([folder])
    assert dataset.products == ("007", "NA", "Outlook")  # "NA" is a name, not missing
    assert dataset.padded == (True, False, False)
    counts = read_partition(dataset, list(dataset.products))
    assert counts["Outlook"].iloc[1] == 2 * 5 + 1  # both spellings' rows of 00:05, day3's
    assert read_partition(dataset, ["Outlook"])["Outlook"].sum() == counts["Outlook"].sum()


@pytest.mark.parametrize(("body", "message"), [
    ("2024-03-01T00:00:00Z,,3\n", "column 'product': 1 missing product names"),
    # Named by its product and time too (it named neither: in a big folder, no row to fix).
    ("2024-03-01T00:00:00Z,A,-5\n", "column 'count': 1 counts that are not finite numbers"
                                      " >= 0 (the first: -5.0, product 'A' at 2024-03-01 "
                                      "00:00:00+00:00); fix or remove those rows"),
    ("garbage,A,3\n", "column 'timestamp': not ISO-8601 timestamps (Time data garbage is "
                       "not ISO8601 format)"),
])
def test_a_bad_row_in_a_folder_names_its_file_and_column(tmp_path, capsys, body, message):
    folder = _csv_folder(tmp_path, a=HEADER + "2024-03-01T00:05:00Z,A,1\n" + body)
    assert main(["analyze", folder]) == 2
    err = capsys.readouterr().err.strip()
    assert "a.csv" in err and message in err and len(err.splitlines()) == 1


def test_a_latin1_file_in_a_folder_says_what_to_do(tmp_path, capsys):
    # It was pyarrow's "CSV conversion error to string: invalid UTF8 data" alone.
    folder = _csv_folder(tmp_path, a=HEADER + "2024-03-01T00:05:00Z,A,1\n")
    (tmp_path / "reports" / "b.csv").write_bytes(
        (HEADER + "2024-03-01T00:05:00Z,Caf\u00e9,1\n").encode("latin-1"))
    assert main(["analyze", folder]) == 2
    err = capsys.readouterr().err.strip()
    assert "b.csv': not UTF-8 text" in err and "iconv -f latin1" in err
    assert len(err.splitlines()) == 1


def test_a_gzip_file_named_in_upper_case_in_a_folder_is_named(tmp_path, capsys):
    # Its compressed bytes were read as text: "Empty CSV file or block".
    folder = _csv_folder(tmp_path, a=HEADER + "2024-03-01T00:05:00Z,A,1\n")
    (tmp_path / "reports" / "B.CSV.GZ").write_bytes(
        gzip.compress((HEADER + "2024-03-01T00:05:00Z,B,1\n").encode()))
    assert main(["analyze", folder]) == 2
    err = capsys.readouterr().err.strip()
    assert "B.CSV.GZ': the CSV files of a folder" in err and "rename it to end in .gz" in err


def test_engine_choices_are_checked(tmp_path):
    with pytest.raises(SpikesInputError, match="unknown engine 'spark'"):
        make_engine("spark")
    with pytest.raises(SpikesInputError, match="--scheduler needs --engine dask"):
        make_engine("local", scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(SpikesInputError, match="no file matches"):
        open_dataset([str(tmp_path / "*.parquet")])
    assert os.path.isdir(tmp_path)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_copied_twice_into_a_folder_is_noticed(tmp_path, capsys, jobs):
    # "day1.csv" and "day1 (1).csv": every count doubled, which would read as an outage
    # of everything; the summary says how many rows repeat a product's bucket.
    rows = "".join(f"2024-03-01T{h:02d}:{m:02d}:00Z,{p},3\n" for h in range(2)
                   for m in range(0, 60, 5) for p in ("A", "B"))
    folder = _csv_folder(tmp_path, **{"day1": HEADER + rows, "day1 (1)": HEADER + rows})
    assert main(["analyze", folder, "--jobs", jobs]) == 0
    assert "48 rows of count data repeat a product's bucket" in capsys.readouterr().out
    # At buckets coarser than the data's, rows add up by design and are not counted (as
    # in a single file).
    assert main(["analyze", folder, "--bucket", "1h"]) == 0
    assert "repeat a product's bucket" not in capsys.readouterr().out


def test_columns_a_folder_does_not_read_are_named(tmp_path, capsys):
    rows = "".join(f"2024-03-01T00:{m:02d}:00Z,A,EU,{m},9\n" for m in range(0, 60, 5))
    folder = _csv_folder(tmp_path, a="timestamp,product,region,count,baseline\n" + rows)
    assert open_dataset([folder]).ignored == ("region", "baseline")
    assert main(["analyze", folder]) == 0
    assert "ignored columns" in capsys.readouterr().err


# --- lost workers and bad clusters (found by an edge-case hunt; each hung or was a
# traceback before) ----------------------------------------------------------------------
def _die_on_two(value: int) -> int:
    if value == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer does
    return value


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork-only path")
def test_a_killed_local_worker_stops_the_run_with_one_line():
    # multiprocessing.Pool and joblib's fork backend waited for the dead worker for ever.
    items = [(i,) for i in range(6)]
    with LocalEngine(jobs=2) as engine, pytest.raises(SpikesRunError, match=(
            "a worker process of the 2 died before its partition was done")):
        engine.map(_die_on_two, items)
    with LocalEngine(jobs=2) as engine, pytest.raises(SpikesRunError, match="died"):
        engine.map_parts(_die_on_two, list(range(6)), list(range(6)), select=_pick)
    assert LocalEngine(jobs=2).map(_die_on_two, [(1,), (3,)]) == [1, 3]


def _pick(whole: list, part: int) -> int:
    return whole[part]


def test_an_address_where_no_scheduler_answers_is_one_line(capsys, monkeypatch):
    # A web server (the dashboard's port as tcp://) held the run for ever; a server that
    # speaks first (ssh) gave numpy's "Unable to allocate 2.82 EiB" traceback.
    import socketserver
    import threading

    from spikes.engine import dask as dask_engine

    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", "1s")
    monkeypatch.setattr(dask_engine, "CONNECT_MARGIN", 0.5)

    class Silent(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(1 << 16)
            time.sleep(10)

    class Banner(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.sendall(b"SSH-2.0-OpenSSH_9.6p1 Debian\r\n" * 4)
            time.sleep(5)

    for handler, said in ((Silent, "no Dask scheduler answered at"),
                          (Banner, "does not speak Dask's protocol")):
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()  # shutdown() waits for a poll
        try:
            address = f"tcp://127.0.0.1:{server.server_address[1]}"
            started = time.monotonic()
            assert main(["analyze", str(SAMPLE), "--engine", "dask", "--scheduler",
                         address]) == 2
            assert time.monotonic() - started < 30
            err = capsys.readouterr().err.strip()
            assert said in err and len(err.splitlines()) == 1, err
        finally:
            server.shutdown()
            server.server_close()


@pytest.mark.parametrize("address", ["http://127.0.0.1:8787", "tcp://127.0.0.1",
                                     "bogus://x", "inproc://x"])
def test_an_address_that_is_no_scheduler_is_one_line(address, capsys):
    # ValueError/TypeError tracebacks: "unknown address scheme 'http'" (the dashboard's
    # address pasted), "missing port number".
    assert main(["analyze", str(SAMPLE), "--engine", "dask", "--scheduler", address]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--scheduler {address!r} is not a Dask scheduler address" in err
    assert len(err.splitlines()) == 1


def test_the_dask_engine_without_distributed_is_one_line(monkeypatch, capsys):
    # A broken install (distributed cannot be imported) was a ModuleNotFoundError
    # traceback from DaskEngine.__init__.
    monkeypatch.setitem(sys.modules, "distributed", None)  # import raises ImportError
    assert main(["analyze", str(SAMPLE), "--engine", "dask"]) == 2
    err = capsys.readouterr().err.strip()
    assert "the Dask engine needs the `distributed` package" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(("scenario", "expected"), [
    # A scheduler without workers, or whose last worker died, left the run waiting for
    # ever (it printed "1 worker threads"); a lost scheduler was distributed's
    # FuturesCancelledError traceback from wait().
    ("no-worker", r"SpikesInputError: the Dask scheduler at tcp://127\.0\.0\.1:\d+ has no "
                  r"worker \(waited 2 s\)"),
    ("worker-dies", r"SpikesRunError: (a partition of products was lost on the Dask cluster"
                    r"|the Dask cluster has had no worker for 2 s)"),
    ("scheduler-dies", r"SpikesRunError: the connection to the Dask scheduler at "
                       r"tcp://127\.0\.0\.1:\d+ was lost"),
    # A worker that died with its partition's scattered data ended the run with "the
    # connection to the Dask scheduler was lost": the other worker redoes it.
    ("worker-dies-once", r"no error"),
])
def test_a_cluster_that_loses_its_workers_or_scheduler_stops_with_one_line(tmp_path,
                                                                           scenario,
                                                                           expected):
    # Each in a fresh interpreter (tests/dask_failures.py): a client of a cluster torn
    # down on purpose leaves nothing behind for the other tests.
    run = subprocess.run([sys.executable, "-m", "tests.dask_failures", scenario,
                          str(tmp_path)], capture_output=True, text=True, timeout=240,
                         cwd=Path(__file__).resolve().parents[1])
    last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
    assert re.fullmatch(expected + ".*", last), last


def test_a_stray_timestamp_in_a_folder_is_named_as_in_a_single_file(tmp_path, capsys):
    # One row of 2016 beside two days of 2026 data: the single CSV said "check for a
    # stray timestamp", the folder (or Parquet) gridded ten years of 5-minute buckets
    # for every partition (gigabytes, then numpy's allocation error).
    folder = tmp_path / "days"
    folder.mkdir()
    stamps = pd.date_range("2026-01-05", periods=2 * 288, freq="5min", tz="UTC")
    pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"), "product": "S000",
                  "reports": 3}).to_csv(folder / "2026.csv", index=False)
    (folder / "old.csv").write_text("timestamp,product,reports\n2016-01-05T00:00:00Z,S000,1\n")
    with pytest.raises(SpikesInputError, match=r"has nothing between 2016-01-05 00:00:00\+00:00 "
                                               r"and 2026-01-05 00:00:00\+00:00, 99.9% of "
                                               r"the span; check for a stray timestamp"):
        open_dataset([str(folder)])
    assert main(["analyze", str(folder)]) == 2
    assert "stray timestamp" in capsys.readouterr().err


def test_a_file_that_grows_after_the_scan_is_named(tmp_path):
    # A row appended between the scan and a partition's read moved its count to another
    # product's bucket (a false outage of B) or was an IndexError.
    path = tmp_path / "a.csv"
    path.write_text("timestamp,product,reports\n2026-01-05T00:00:00Z,A,1\n"
                    "2026-01-05T00:00:00Z,B,1\n2026-01-05T00:05:00Z,A,2\n"
                    "2026-01-05T00:05:00Z,B,2\n")
    dataset = open_dataset([str(path)])
    with path.open("a") as handle:
        handle.write("2026-01-05T01:00:00Z,A,500\n")
    with pytest.raises(SpikesInputError, match="a.csv' changed after it was scanned: a row "
                                               "at 2026-01-05 01:00:00"):
        read_partition(dataset, ["A", "B"])


def test_nanosecond_timestamps_in_a_folder_are_read_as_in_a_single_file(tmp_path):
    # A Parquet file of pandas' nanosecond times (one at +1 ns) was pyarrow's "would lose
    # data" traceback; the same rows as a single CSV were read.
    stamps = pd.date_range("2026-01-05", periods=2 * 288, freq="5min", tz="UTC")
    stamps = stamps + pd.to_timedelta(np.r_[1, np.zeros(len(stamps) - 1)].astype(int), "ns")
    table = pd.DataFrame({"timestamp": stamps, "product": "A", "reports": 2.0})
    table.to_parquet(tmp_path / "ns.parquet")
    dataset = open_dataset([str(tmp_path / "ns.parquet")])
    counts = read_partition(dataset, ["A"])
    assert dataset.bucket == pd.Timedelta("5min") and counts["A"].eq(2.0).all()
    assert len(counts) == len(stamps)


def test_one_file_named_twice_is_read_once(tmp_path, monkeypatch):
    # `spikes analyze days ./days/` read every file twice (every count doubled, noted
    # only as repeated rows).
    from spikes.io.datasets import expand_inputs

    folder = tmp_path / "days"
    folder.mkdir()
    (folder / "a.csv").write_text("timestamp,product,reports\n2026-01-05T00:00:00Z,A,1\n")
    monkeypatch.chdir(tmp_path)
    assert expand_inputs(["days", "./days/", str(folder / "a.csv")]) == \
        [(str(Path("days") / "a.csv"), "csv")]


def test_the_bucket_of_a_dataset_is_inferred_from_products_spread_over_it(tmp_path,
                                                                         monkeypatch):
    # Sorted by product, its first million rows held only the products counted every 10
    # minutes: the dataset was read at 10 minutes (and "repeated rows" were noted),
    # while the same rows as one CSV, whose inference samples products spread over the
    # names, were read at 5.
    from spikes.io import datasets

    monkeypatch.setattr(datasets, "_SAMPLE_ROWS", 1000)  # the million, scaled down
    monkeypatch.setattr(datasets, "_SPREAD", 4)
    frames = []
    for prefix, step in (("a", "10min"), ("b", "5min")):
        stamps = pd.date_range("2026-01-05", "2026-01-06 23:55", freq=step, tz="UTC")
        for k in range(40):
            frames.append(pd.DataFrame({"timestamp": stamps, "product": f"{prefix}{k:02d}",
                                        "reports": 1.0}))
    table = pd.concat(frames, ignore_index=True)
    table.to_parquet(tmp_path / "mixed.parquet")
    table.to_csv(tmp_path / "mixed.csv", index=False)
    assert load_reports(tmp_path / "mixed.csv").bucket == pd.Timedelta("5min")
    assert open_dataset([str(tmp_path / "mixed.parquet")]).bucket == pd.Timedelta("5min")


def test_a_dataset_larger_than_one_grid_is_read_by_partitions(tmp_path, monkeypatch):
    # The stray-timestamp check of a dataset also refused its whole grid above the cells
    # of one file (3,000 products x 250 days), though partitions bound what is read.
    from spikes.io import buckets

    monkeypatch.setattr(buckets, "MAX_CELLS", 1000)
    stamps = pd.date_range("2026-01-05", periods=288, freq="5min", tz="UTC")
    pd.concat([pd.DataFrame({"timestamp": stamps, "product": f"p{k}", "reports": 1.0})
               for k in range(10)]).to_parquet(tmp_path / "d.parquet")
    dataset = open_dataset([str(tmp_path / "d.parquet")])  # 2,880 cells: not refused
    assert dataset.n_buckets == 288 and len(dataset.products) == 10


def test_a_folder_names_products_that_differ_only_in_case(tmp_path, capsys):
    # The same files listed named them; given as a folder (read by partitions), unsaid.
    rows = "".join(f"2024-03-01T00:{m:02d}:00Z,{p},1\n" for m in range(0, 60, 5)
                   for p in ("Zed", "zed"))
    folder = _csv_folder(tmp_path, day1=HEADER + rows)
    assert main(["analyze", str(folder)]) == 0
    assert "differ only in case are read as different products: 'Zed' and 'zed'" in \
        capsys.readouterr().out


# --- Real Dask clusters, last in the module: their module-scoped clusters start with the
# first of these tests and stop right after the last (not idle through the module) -------
def test_separate_scheduler_and_workers_match_the_local_engine(reports, dask_cluster,
                                                               tmp_path, capsys):
    local, remote = tmp_path / "local.parquet", tmp_path / "remote.parquet"
    assert main(["analyze", str(reports["parquet"]), "-o", str(local), "--jobs", "1"]) == 0
    assert main(["analyze", str(reports["parquet"]), "-o", str(remote), "--engine", "dask",
                 "--scheduler", dask_cluster]) == 0
    assert "Dask dashboard" in capsys.readouterr().err
    expected = reports["expected"]
    pd.testing.assert_frame_equal(_read(remote, expected), _read(local, expected))
    pd.testing.assert_frame_equal(_read(local, expected), expected)


def test_a_relative_path_reaches_the_workers_of_a_cluster(reports, dask_cluster, tmp_path,
                                                          monkeypatch, capsys):
    # Workers running in another folder read "reports.parquet" there: "not a readable
    # file", though the path was right where the command ran.
    monkeypatch.chdir(reports["parquet"].parent)
    out = tmp_path / "remote.parquet"
    assert main(["analyze", reports["parquet"].name, "-o", str(out), "--engine", "dask",
                 "--scheduler", dask_cluster]) == 0
    pd.testing.assert_frame_equal(_read(out, reports["expected"]), reports["expected"])


def test_dask_local_cluster_matches_the_local_engine(reports, dask_local):
    assert dask_local.dashboard_link.startswith("http://127.0.0.1:")
    expected = reports["expected"]
    pd.testing.assert_frame_equal(detect(reports["data"], engine=dask_local).incidents,
                                  expected)
    # Scored data, partitions selected on the driver and sent (Engine.map_parts).
    pd.testing.assert_frame_equal(analyze(reports["data"], engine=dask_local).incidents,
                                  expected)
    from_files = detect(open_dataset([str(reports["parquet"])]), engine=dask_local)
    pd.testing.assert_frame_equal(from_files.incidents, expected)
    pd.testing.assert_frame_equal(from_files.events, reports["events"])  # analyze's


def _ignores_sigint() -> bool:
    """Whether the calling process ignores SIGINT."""
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def _pid() -> int:
    return os.getpid()


def test_a_worker_dask_restarts_after_it_died_ignores_ctrl_c_too(dask_local):
    # The local cluster's workers were started ignoring Ctrl-C, but one that Dask
    # restarted after it died (out of memory) had Python's handler: its traceback showed
    # on the next Ctrl-C. (Last of the module: it kills a worker of the shared cluster.)
    client = dask_local.client
    assert list(client.run(_ignores_sigint).values()) == [True, True]
    first = set(client.run(_pid).values())
    os.kill(min(first), signal.SIGKILL)
    deadline = time.monotonic() + 60
    pids = first
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            pids = set(client.run(_pid).values())
        except Exception:  # noqa: BLE001 - the worker is being restarted
            continue
        if len(pids) == 2 and pids != first:
            break
    assert len(pids) == 2 and min(first) not in pids, "Dask did not restart the worker"
    assert list(client.run(_ignores_sigint).values()) == [True, True]
