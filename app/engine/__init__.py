"""The engine: what turns reports into counts, scores and incidents, with no web
framework and no clock in it (time comes in as an argument).

- `pipeline.py`: aggregate, step the detector, write; `advance(t)` is the one way
  time moves. Its parts by job: `intake_buffer.py` (dedup's verdicts and the buffer
  the writer drains), `snapshot.py` (snapshot and restore of its state), `config.py`
  (its settings and a batch's answer).
- `drive.py`: `drive(pipeline, t, reports)`, the one driver: the server's writer,
  `replay` and the NATS worker all move the pipeline with it. After a step it gives
  the step's freed heap pages back (`memory.py`).
- `early.py`: outages opened from buckets still open, when their counts already prove it.
- `chart.py`: the day ring of counts and expected values per service, for pages.
- `read_view.py`: the immutable view the writer publishes after each advance; the only
  thing outside the engine that reads its state.
- `restore.py`: the one restore from a store (snapshot, open incidents, stored reports).

It may import `outagewatch.ingest` and `outagewatch.detector`, never FastAPI,
Starlette or the server's modules (tests/test_architecture.py checks it).
"""
