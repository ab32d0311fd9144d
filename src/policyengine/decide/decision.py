"""The typed, JSON-serialisable results: clause results, package results, decisions, audit data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SerializerFunctionWrapHandler, model_serializer

Status = Literal["eligible", "ineligible", "undetermined", "excluded"]
STATUS_VALUES: tuple[Status, ...] = ("eligible", "ineligible", "undetermined", "excluded")


M = TypeVar("M", bound="_Model")
_new = object.__new__
_set = object.__setattr__


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @classmethod
    def trusted(cls: type[M], **fields: Any) -> M:
        """A model from values the engine computed itself (every field given, already of its type), without
        validation: the interpreter builds thousands of these per second."""
        m = _new(cls)
        _set(m, "__dict__", fields)
        _set(m, "__pydantic_fields_set__", set(fields))
        _set(m, "__pydantic_extra__", None)
        _set(m, "__pydantic_private__", None)
        return m

    def _materialise(self) -> None:
        """Fill in every trace still deferred below this model (before it is serialised or compared)."""

    def model_dump(self, **kw: Any) -> dict[str, Any]:
        self._materialise()
        return super().model_dump(**kw)

    def model_dump_json(self, **kw: Any) -> str:
        self._materialise()
        return super().model_dump_json(**kw)

    def __eq__(self, other: object) -> bool:
        self._materialise()
        if isinstance(other, _Model):
            other._materialise()
        return super().__eq__(other)

    def __getstate__(self) -> dict[Any, Any]:
        self._materialise()
        return super().__getstate__()

    def __repr_args__(self) -> Any:
        self._materialise()
        return super().__repr_args__()


class FactValue(_Model):
    fact: str
    label: str
    value: str


class ConditionTrace(_Model):
    """One condition of a clause: its text, its three-valued result and the facts it saw."""

    condition: str
    result: Literal["true", "false", "unknown"]
    values: list[FactValue] = Field(default_factory=list)
    deciding: str | None = Field(default=None, description="For a false condition: the part that is false")


class CanonicalFacts(Protocol):
    """What a decision records of the applicant's facts (`facts.applicant.Facts`)."""

    @property
    def unused(self) -> tuple[str, ...]: ...

    def canonical(self) -> dict[str, str | None]: ...

    def digest(self) -> str: ...


_DEFERRED_FACTS = ("facts", "facts_hash")

Trace = Callable[[], dict[str, Any]]
Later = tuple[Callable[..., Any], Callable[[], tuple[Any, ...]]]
"""A deferred field: `(make, args)`, made as `make(*args())` (`args` a function, so that a copy shares it)."""
"""Builds a clause result's deferred trace fields (`conditions`, `formula`) on first use."""

_DEFERRED = ("conditions", "formula", "reason")
"""Fields a clause result may make when first read (the trace, and an ineligible clause's reason)."""


class ClauseResult(_Model):
    """One clause's outcome for one applicant.

    The interpreter may defer the trace (`conditions`, `formula`): it is built the first time either is read,
    or when the result is serialised, compared or copied deeply; and an ineligible clause's `reason`, made the
    first time it is read (or with the trace). A caller sees the same result either way.
    """

    clause: str
    article: int
    title: str
    status: Status
    amount: int = Field(description="Paid, in yuan, after settlement")
    computed: int | None = Field(default=None, description="The clause's own amount, rounded, before settlement")
    reason: str = ""
    formula: str | None = None
    unknown_facts: list[str] = Field(default_factory=list)
    conditions: list[ConditionTrace] = Field(default_factory=list)
    settlement: list[str] = Field(default_factory=list)
    _trace: Later | None = PrivateAttr(default=None)
    _reason: Later | None = PrivateAttr(default=None)

    @classmethod
    def deferred(cls, trace: Trace, **fields: Any) -> ClauseResult:
        """A trusted result whose `conditions` and `formula` are built by `trace` when first needed."""
        m = cls.trusted(**fields)
        object.__setattr__(m, "__pydantic_private__", {"_trace": (trace, tuple), "_reason": None})
        m.__pydantic_fields_set__.update(_DEFERRED)
        return m

    def _make_reason(self) -> None:
        private = self.__pydantic_private__
        later = private.get("_reason") if private else None
        if later is None:
            return
        assert private is not None
        private["_reason"] = None
        fields = self.__dict__
        if "reason" in fields:   # set since (by settlement): it stands
            return
        make, args = later
        reordered: dict[str, Any] = {}
        for name, value in fields.items():   # in its place, after `computed`, as when made at once
            reordered[name] = value
            if name == "computed":
                reordered["reason"] = make(*args())
        if "reason" not in reordered:
            reordered["reason"] = make(*args())
        fields.clear()
        fields.update(reordered)

    def _materialise(self) -> None:
        self._make_reason()
        private = self.__pydantic_private__
        later = private.get("_trace") if private else None
        if later is not None:
            assert private is not None
            private["_trace"] = None
            make, args = later
            for name, value in make(*args()).items():
                self.__dict__.setdefault(name, value)   # a field set since (by settlement) stands

    def __getattr__(self, name: str) -> Any:
        if name == "reason":
            self._make_reason()
        elif name in _DEFERRED:
            self._materialise()
        if name in _DEFERRED and name in self.__dict__:
            return self.__dict__[name]
        return super().__getattr__(name)  # type: ignore[misc]


_CLAUSE_FIELDS = set(ClauseResult.model_fields)


def clause_result(trace: Later, fields: dict[str, Any], reason: Later | None = None) -> ClauseResult:
    """`ClauseResult.deferred(trace, **fields)` for a dict holding every field but the deferred ones (and
    `reason`, when `reason` makes it), taken as it is: the interpreter builds one per clause per applicant, so
    this does no more than it must."""
    m = _new(ClauseResult)
    _set(m, "__dict__", fields)
    _set(m, "__pydantic_fields_set__", _CLAUSE_FIELDS.copy())
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", {"_trace": trace, "_reason": reason})
    return m


class SettlementStep(_Model):
    step: Literal["clause_cap", "group", "applicant_cap", "proration"]
    clause: str | None = None
    before: int
    after: int
    note: str
    fund: int | None = Field(default=None, description="proration: the annual fund")
    demand: int | None = Field(default=None, description="proration: the settled total the population asked for")


class PackageResult(_Model):
    package: str
    version: str | None
    document_number: str | None = None
    content_hash: str | None = None
    status: Literal["evaluated", "not_in_force", "undetermined"]
    reason: str = ""
    application_year: int | None = None
    annual_fund: int | None = None
    clauses: list[ClauseResult] = Field(default_factory=list)
    total: int = 0
    steps: list[SettlementStep] = Field(default_factory=list)

    def _materialise(self) -> None:
        for c in self.clauses:
            c._materialise()

    def clause(self, clause_id: str) -> ClauseResult:
        for c in self.clauses:
            if c.clause == clause_id:
                return c
        raise KeyError(f"{self.package}@{self.version} has no clause {clause_id!r}")


class EngineFiring(_Model):
    clause: str
    rule: str
    detail: str = ""


class AuditInfo(_Model):
    """How the decision was made: backend, library versions, what the engine reported."""

    backend: str
    library: dict[str, str]
    sources: dict[str, str] = Field(default_factory=dict, description="package@version → folder it was loaded from")
    firings: list[EngineFiring] = Field(default_factory=list)
    fallback: list[str] = Field(default_factory=list, description=(
        "package@version that the default backend left to the reference interpreter, and why (for example money "
        "beyond the Rete backend's exact range); omitted from the record when empty"))

    @model_serializer(mode="wrap")
    def _omit_empty_fallback(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and not data.get("fallback"):
            data.pop("fallback", None)   # records without a fallback stay exactly as before the field existed
        return data


class Decision(_Model):
    """One applicant's decision under one or more packages. `model_dump_json()` is its audit record.

    `evaluate()` defers `facts` and `facts_hash` (the applicant's facts as canonical text, and their digest):
    they are filled in the first time either is read, or when the decision is serialised, compared or copied
    deeply, so a caller sees the same decision either way."""

    format: Literal["policyengine-decision/1"] = "policyengine-decision/1"
    facts: dict[str, str | None] = Field(description="The applicant's known facts, canonical text")
    facts_hash: str
    unused_facts: list[str] = Field(default_factory=list, description=(
        "Facts of the shared catalogue that were given but that no package evaluated reads: accepted and "
        "ignored; omitted from the record when empty"))
    application_year: int | None
    packages: list[PackageResult]
    total: int
    audit: AuditInfo
    _facts: CanonicalFacts | None = PrivateAttr(default=None)

    @classmethod
    def of_facts(cls, facts: CanonicalFacts, **fields: Any) -> Decision:
        """A trusted decision on the applicant's `facts`, whose canonical text and digest are made when needed."""
        d = cls.trusted(format="policyengine-decision/1", unused_facts=list(facts.unused), **fields)
        object.__setattr__(d, "__pydantic_private__", {"_facts": facts})
        d.__pydantic_fields_set__.update(_DEFERRED_FACTS)
        return d

    def _materialise(self) -> None:
        self._make_facts()
        for p in self.packages:
            p._materialise()

    def _make_facts(self) -> None:
        private = self.__pydantic_private__
        facts = private.get("_facts") if private else None
        if facts is not None:
            assert private is not None
            private["_facts"] = None
            fields = self.__dict__
            made = {"facts": facts.canonical(), "facts_hash": facts.digest()}
            # in their places (fields serialise in this order), unless set since
            ordered = {name: fields[name] if name in fields else made[name]
                       for name in type(self).model_fields if name in fields or name in made}
            ordered.update((name, value) for name, value in fields.items() if name not in ordered)
            fields.clear()
            fields.update(ordered)

    def __getattr__(self, name: str) -> Any:
        if name in _DEFERRED_FACTS:   # the facts alone: each clause's trace is still made when it is read
            self._make_facts()
            if name in self.__dict__:
                return self.__dict__[name]
        return super().__getattr__(name)  # type: ignore[misc]

    @model_serializer(mode="wrap")
    def _omit_empty_unused(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and not data.get("unused_facts"):
            data.pop("unused_facts", None)   # records without unused facts stay exactly as before the field existed
        return data

    def package(self, package_id: str) -> PackageResult:
        for p in self.packages:
            if p.package == package_id:
                return p
        raise KeyError(f"no package {package_id!r} in this decision")

    def outcome(self) -> dict[str, object]:
        """The decision without how it was made: equal across backends for the same rules and facts."""
        return self.model_dump(mode="json", exclude={"audit", "unused_facts"})

    def audit_record(self) -> str:
        """The audit record: plain JSON that `replay` re-evaluates."""
        return self.model_dump_json()
