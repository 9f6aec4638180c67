"""Names of a package that load their module on first use (PEP 562).

A package lists its public names with the module that defines each; the module-level
``__getattr__`` and ``__dir__`` this builds import that module when a name is first read
and keep the value in the package, so importing the package (or one of its modules) does
not load the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, public: Mapping[str, str], namespace: dict[str, Any]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of `package` for its lazily loaded names.

    Parameters
    ----------
    package : str
        The package's ``__name__`` (for the error of an unknown name).
    public : mapping of str to str
        Each lazily loaded name, with the module that defines it.
    namespace : dict
        The package's ``globals()``: a name is kept there once loaded.

    Returns
    -------
    tuple of callables
        ``__getattr__(name)`` and ``__dir__()``.

    Examples
    --------
    >>> getattr_, dir_ = lazy_names("pkg", {"sqrt": "math"}, {})
    >>> getattr_("sqrt")(9.0), "sqrt" in dir_()
    (3.0, True)
    """

    def __getattr__(name: str) -> Any:
        module = public.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *public})

    return __getattr__, __dir__
