"""Puts ../src/vod_parts_cleanup_dev into the developer tools' wheel.

Why a hook: hatch selects files only inside this directory, while the tools' code lives in
../src beside the product package. A built wheel copies it in; an editable install (make
setup) puts ../src on the path instead (dev-mode-dirs), so edits take effect at once.
"""

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "vod_parts_cleanup_dev"


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "standard":
            source = Path(self.root).parent / "src" / PACKAGE
            build_data["force_include"][str(source)] = PACKAGE
