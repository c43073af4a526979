"""Static files for production: WhiteNoise's hashed and compressed copies, each content compressed once."""

import os

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """`collectstatic` post-processes every file on every run, and WhiteNoise compresses each one again (Brotli
    over ~35 MB took minutes on each `make run`). Here a file is compressed only when its content is new: a hashed
    name (`app.2ac6c074ab1d.css`) names one content, so an existing compressed copy of it is current; an unhashed
    name's compressed copy is current while it carries the file's modification time (WhiteNoise writes it so)."""

    def compress_files(self, paths):
        hashed = set(self.hashed_files.values())
        yield from super().compress_files([p for p in paths if not self._compressed_copy_is_current(p, hashed)])

    def _compressed_copy_is_current(self, path, hashed) -> bool:
        full = self.path(path)
        try:
            source = os.stat(full).st_mtime
        except OSError:
            return False
        for suffix in (".br", ".gz"):
            try:
                copy = os.stat(full + suffix).st_mtime
            except OSError:
                continue
            if path in hashed or copy == source:
                return True
        return False
