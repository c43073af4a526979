"""The DMS import engine: per-row validation in Python, set-based writes in SQL.

`dms.services` holds the public services (`import_batch_run`, `import_file`, …); they call into these modules:

- `staging`: the staging columns, `Chunk`, `ChunkResult`, `RowError`: what the validator hands the writer;
- `validation`: `RowValidator`, the file's rows read in chunks and validated into staged tuples;
- `known_vehicles`: `KnownVehicles`, the vehicles an import wrote, whose later orders skip the search in SQL;
- `writer`: `ChunkWriter`, one chunk written with set-based SQL (PostgreSQL and SQLite);
- `pipeline`: the reading thread, the parallel writers, each chunk's transaction and its counts on the batch;
- `timing`: the public timing hook (`PhaseRecorder`, passed as `timer=`) that benchmarks read.
"""
