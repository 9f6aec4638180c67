"""The live service: reports in over HTTP, kept in an embedded DuckDB store, incidents
raised as buckets close.

``store`` (the DuckDB file), ``live`` (closing buckets, running the causal detector),
``models`` (request bodies), ``app`` (the FastAPI app factory :func:`create_app`). The
service is an edge beside :mod:`spikes.cli` over :mod:`spikes.detect`.
"""
