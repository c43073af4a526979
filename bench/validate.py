"""`python -m bench.validate FILE [--kind repair_orders] [--chunk-size N] [--parts N]`: the import's Python side alone.

Reads and validates a DMS file exactly as `import_dms` does before it writes (reader, row hashes,
parsers, required columns, duplicate keys, the split of each chunk into the writers' parts) and
writes nothing; no database is touched. Prints the CPU seconds of that work. Run by
`python -m bench import` to measure what the validation costs in CPU: one part of the floor under
any import of the file.
"""

import argparse
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.validate")
    parser.add_argument("file")
    parser.add_argument("--kind", default="repair_orders")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--parts", type=int, default=2, help="writers the chunks are split for (as IMPORT_WRITERS)")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from aftercare.dms.fields import KINDS
    from aftercare.dms.importing.pipeline import gc_relaxed
    from aftercare.dms.importing.validation import RowValidator
    from aftercare.dms.readers import open_table
    from aftercare.dms.services import CHUNK_SIZE

    spec = KINDS[args.kind]
    valid = rejected = 0
    cpu = time.process_time()
    with open_table(args.file, spec.aliases) as table, gc_relaxed():  # the collector set as for an import
        validator = RowValidator(table, spec)
        missing = validator.missing_required()
        if missing:
            print(f"missing required columns: {', '.join(missing)}", file=sys.stderr)
            return 2
        for chunk in validator.chunks(args.chunk_size or CHUNK_SIZE, parts=args.parts):
            valid += len(chunk.rows) + sum(len(part) for part in chunk.parts or ())
            rejected += chunk.rejected
    # CPU seconds of the reading and validating alone (not of Python's and Django's start-up)
    print(f"valid={valid} rejected={rejected} cpu={time.process_time() - cpu:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
