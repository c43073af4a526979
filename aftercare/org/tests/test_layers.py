"""Core is the lowest layer and org the next: core imports no other app of the project, org imports only core.

Read from the source with `ast`; tests are left out (they may import anything). import-linter's contract
(`make lint`) says this for every app; this test keeps the two lowest layers checked by the test run too.
"""

from aftercare.testing.imports import imports_of_other_apps


def test_it_keeps_core_free_of_every_other_app():
    offenders = [f"{path} imports {module}" for path, module in imports_of_other_apps("core")]
    assert not offenders, "\n".join(offenders)


def test_it_lets_org_import_only_core():
    offenders = [
        f"{path} imports {module}"
        for path, module in imports_of_other_apps("org")
        if not module.startswith("aftercare.core")
    ]
    assert not offenders, "\n".join(offenders)
