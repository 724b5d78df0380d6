"""Instrumentation for the unemulated-resources report: what moto's models read and updated.

Not a correction of moto: it records, inside the server process, which template properties each
model touched and which updates it could not apply, for tools.emulator.introspection to serve.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tools.emulator.wrapping import wrap

# Stack id -> logical ids whose template changed but whose moto model cannot update in place.
UPDATES_NOT_APPLIED: dict[str, set[str]] = {}

# (stack id, logical id) -> template property names moto's model read when it built the resource.
PROPERTY_READS: dict[tuple[str, str], set[str]] = {}
# (stack id, logical id) -> properties an update changed but moto's model did not read.
UPDATE_IGNORED: dict[tuple[str, str], set[str]] = {}
_PENDING_READS: dict[tuple[str, str], TrackingDict] = {}


class TrackingDict(dict):  # type: ignore[type-arg]
    """A resource's Properties that remembers which keys moto's model looked at.

    Whole-dict access (iteration, items, copies) counts as reading every key, so a property is
    reported as ignored only when the model provably never touched it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def _all(self) -> None:
        self.read.update(super().keys())

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)

    def pop(self, key: str, *default: Any) -> Any:
        self.read.add(key)
        return super().pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().setdefault(key, default)

    def __iter__(self) -> Any:
        self._all()
        return super().__iter__()

    def keys(self) -> Any:
        self._all()
        return super().keys()

    def items(self) -> Any:
        self._all()
        return super().items()

    def values(self) -> Any:
        self._all()
        return super().values()

    def copy(self) -> dict[str, Any]:
        self._all()
        return dict(super().items())


def track_property_reads() -> None:
    """moto 5.2.5 builds resources from whichever template properties each model chooses to read
    and silently ignores the rest (e.g. AWS::SageMaker::NotebookInstance KmsKeyId). Not a fix: hand
    each model a TrackingDict so the unemulated-resources report can name the ignored properties.
    """
    from moto.cloudformation import parsing

    def parse(original: Callable[..., Any], logical_id: str, resource_json: Any, resources_map: Any) -> Any:
        parsed = original(logical_id, resource_json, resources_map)
        if parsed:
            props = TrackingDict(parsed[1].get("Properties") or {})
            name_property = parsed[0].cloudformation_name_type()
            if name_property:  # moto read it before us, to name the resource
                props.read.add(name_property)
            parsed[1]["Properties"] = props
            _PENDING_READS[(resources_map.stack_id, logical_id)] = props
        return parsed

    def create(
        original: Callable[..., Any], logical_id: str, resource_json: Any, resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        built = original(logical_id, resource_json, resources_map, *args, **kw)
        props = _PENDING_READS.pop((resources_map.stack_id, logical_id), None)
        if built is not None and props is not None:
            PROPERTY_READS[(resources_map.stack_id, logical_id)] = set(props.read)
        return built

    def update(
        original: Callable[..., Any], logical_id: str, resource_json: Any, resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        old_props = (getattr(resources_map, "_emulator_previous_specs", {}).get(logical_id) or {}).get(
            "Properties"
        ) or {}
        new_props = resource_json.get("Properties") or {}
        updated = original(logical_id, resource_json, resources_map, *args, **kw)
        props = _PENDING_READS.pop((resources_map.stack_id, logical_id), None)
        if updated is not None and props is not None:
            changed = {k for k in old_props.keys() | new_props.keys() if old_props.get(k) != new_props.get(k)}
            key = (resources_map.stack_id, logical_id)
            PROPERTY_READS[key] = PROPERTY_READS.get(key, set()) | props.read
            UPDATE_IGNORED[key] = changed - props.read
        return updated

    def remember_previous(original: Callable[..., Any], self: Any, *args: Any, **kw: Any) -> Any:
        self._emulator_previous_specs = dict(self._resource_json_map)
        return original(self, *args, **kw)

    wrap(parsing, "parse_resource_and_generate_name", parse)
    wrap(parsing, "parse_and_create_resource", create)
    wrap(parsing, "parse_and_update_resource", update)
    wrap(parsing.ResourceMap, "update", remember_previous)
