"""The demo is the top layer: last in INSTALLED_APPS, and imported by no other app (read from the source with `ast`)."""

from django.conf import settings

from aftercare.testing.imports import ROOT, imported_modules, imports_of_other_apps, project_apps


def test_it_keeps_the_demo_app_last_in_installed_apps():
    assert settings.INSTALLED_APPS[-1] == "aftercare.demo"


def test_it_lets_no_other_app_import_the_demo():
    """Not even their tests; the root modules (urls, api, settings) neither."""
    offenders = [
        f"{path} imports {module}"
        for app in project_apps()
        if app != "demo"
        for path, module in imports_of_other_apps(app, tests=True)
        if module == "aftercare.demo" or module.startswith("aftercare.demo.")
    ]
    offenders += [
        f"{path.name} imports {module}"
        for path in ROOT.glob("*.py")
        for module in imported_modules(path)
        if module.startswith("aftercare.demo")
    ]
    assert not offenders, "\n".join(offenders)


def test_it_notices_an_import_of_the_demo(tmp_path):
    """The scan itself works, for absolute, `from aftercare import demo` and relative imports."""
    root = tmp_path / "aftercare"
    for app in ("org", "demo"):
        (root / app).mkdir(parents=True)
        (root / app / "apps.py").write_text("", encoding="utf-8")
    sources = (
        "import aftercare.demo.org",
        "from aftercare import demo",
        "from ..demo.org import STORES",
        "from .. import demo",
    )
    for n, source in enumerate(sources):
        (root / "org" / f"m{n}.py").write_text(source, encoding="utf-8")
    found = imports_of_other_apps("org", root=root)
    assert {path.rsplit("/", 1)[1] for path, module in found if module.startswith("aftercare.demo")} == {
        "m0.py",
        "m1.py",
        "m2.py",
        "m3.py",
    }
