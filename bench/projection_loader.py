"""Find a projection class from what the user typed: a built-in name, module:Class, or file.py:Class."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

from projections import BUILTINS, Projection
from stores.errors import InvalidParameter
from stores.snapshots import check_projection_name

ALLOWED = f"a built-in ({', '.join(BUILTINS)}), package.module:Class or path/to/file.py:Class"


def load_projection(spec: str | type[Projection]) -> type[Projection]:
    """The projection class ``spec`` names; a class given as such is checked and returned."""
    if not isinstance(spec, str):
        return _checked(spec, spec_of(spec))
    if spec in BUILTINS:
        return BUILTINS[spec]
    if ":" not in spec:
        raise InvalidParameter(f"unknown projection {spec!r}; use {ALLOWED}")
    where, _, attribute = spec.rpartition(":")
    if not where or not attribute:
        raise InvalidParameter(f"projection {spec!r} is missing its module or class; use {ALLOWED}")
    module = _import_file(where) if where.endswith(".py") or "/" in where else _import_module(where)
    found = getattr(module, attribute, None)
    if found is None:
        raise InvalidParameter(f"projection {spec!r}: {where} has no attribute {attribute!r}")
    return _checked(found, spec)


def spec_of(projection: object) -> str:
    """How a class given directly is named in results: module:Class."""
    return f"{getattr(projection, '__module__', '?')}:{getattr(projection, '__qualname__', repr(projection))}"


def _checked(found: object, spec: str) -> type[Projection]:
    if not (inspect.isclass(found) and issubclass(found, Projection)):
        raise InvalidParameter(
            f"projection {spec!r} is not a Projection subclass; subclass projections.Projection or EventProjection"
        )
    if inspect.isabstract(found):
        missing = ", ".join(sorted(found.__abstractmethods__))
        raise InvalidParameter(f"projection {spec!r} does not implement {missing}")
    try:
        check_projection_name(found.name)
    except InvalidParameter as error:
        raise InvalidParameter(f"projection {spec!r}: set its class attribute name; {error}") from None
    return found


def _import_module(name: str) -> object:
    try:
        return importlib.import_module(name)
    except Exception as error:  # noqa: BLE001 - user code may raise anything while importing
        raise InvalidParameter(f"cannot import projection module {name!r}: {type(error).__name__}: {error}") from None


def _import_file(where: str) -> object:
    path = Path(where).expanduser()
    if not path.is_file():
        raise InvalidParameter(f"projection file {where} does not exist")
    # A stable, unique module name per file: two files both called projection.py must not collide.
    module_name = "catchup_user_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise InvalidParameter(f"projection file {where} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - user code may raise anything while importing
        del sys.modules[module_name]
        raise InvalidParameter(f"cannot import projection file {where}: {type(error).__name__}: {error}") from None
    return module
