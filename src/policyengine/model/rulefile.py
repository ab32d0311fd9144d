"""The rule-file format as pydantic models: what a drafter may write, and nothing else.

Every model forbids unknown keys. `RuleFile` is one YAML file of a version folder; a version's
files are merged section by section (see `loader`). Expressions stay text here; the loader
parses and type-checks them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
ExprText = Annotated[str, StringConstraints(min_length=1)]
FactType = Literal["text", "enum", "bool", "integer", "year", "money", "rate", "uscc"]
Blank = Literal["unknown", "none", "zero"]
ScalarValue = str | int | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Effective(_Strict):
    """The application years this version governs (inclusive; `to` empty = open-ended)."""

    from_year: int = Field(alias="from", ge=1900, le=2200)
    to_year: int | None = Field(default=None, alias="to", ge=1900, le=2200)


class PackageMeta(_Strict):
    id: Identifier
    title: str
    issuer: str
    document_number: str = Field(description="文号 of the document this version encodes")
    version: str = Field(description="The version as its document names it: '2.0', '3.0', '2019'")
    effective: Effective
    provenance: str = ""
    verified: bool = False
    notes: str = ""

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_text(cls, v: Any) -> Any:
        if not isinstance(v, str):
            raise ValueError(f"write the version as quoted text, e.g. version: \"{v}\"")
        return v


class FactSpec(_Strict):
    name: Identifier
    type: FactType
    label: str = Field(description="Chinese label; also accepted as a spreadsheet header")
    aliases: list[str] = Field(default_factory=list, description="Other accepted spreadsheet headers")
    unit: str | None = None
    blank: Blank = Field(description="What an empty cell means: unknown, none (did not happen) or zero")
    values: list[str] | None = Field(default=None, description="The allowed values of an enum")
    none_value: str | None = Field(default=None, description="The enum value that a blank 'none' cell reads as")
    required: bool = Field(default=False, description="A row with this fact blank is rejected")
    changeable: bool = Field(default=True, description="Whether an enterprise can change this fact (identity, "
                             "district, past years cannot): `policyengine advise` changes only changeable facts")
    description: str = ""


class Condition(_Strict):
    """A condition with a drafter's wording for when it fails."""

    test: ExprText
    reason: str | None = Field(default=None, description="Shown when the condition is false; {fact} is replaced")


class Table(_Strict):
    """A small lookup table: enum value → amount (`L[carrier_level]`)."""

    type: Literal["money", "integer", "rate"] = "money"
    values: dict[str, int | str]


class ClauseSpec(_Strict):
    id: Identifier
    article: int = Field(ge=1, description="Article number; orders clauses and breaks ties")
    title: str
    text: str = Field(description="The clause as the document states it, in Chinese")
    conditions: list[ExprText | Condition] = Field(default_factory=list)
    amount: ExprText | int
    cap: int | str | None = Field(default=None, description="Largest amount in yuan; `50万` allowed")
    group: Identifier | None = None
    rounding: Literal["yuan", "wan"] | None = None
    notes: str = ""
    verified: bool = False


class GroupSpec(_Strict):
    members: list[Identifier] = Field(min_length=2)
    rule: Literal["highest"] = Field(default="highest", description="就高不重复: the highest award stands")
    label: str = ""


class Rounding(_Strict):
    unit: Literal["yuan", "wan"] = "yuan"
    mode: Literal["half_up", "down", "up"] = "half_up"


class Settlement(_Strict):
    rounding: Rounding = Field(default_factory=Rounding)
    groups: dict[Identifier, GroupSpec] = Field(default_factory=dict)
    applicant_cap: int | str | None = Field(default=None, description="Per-applicant cap across the package")
    annual_fund: int | str | None = Field(default=None, description="Fund per application year (batch proration)")


class ExpectedClause(_Strict):
    status: Literal["eligible", "ineligible", "undetermined", "excluded"]
    amount: int | None = None


class TestCase(_Strict):
    name: str
    facts: dict[str, ScalarValue]
    expect: dict[str, ExpectedClause | Literal["eligible", "ineligible", "undetermined", "excluded"]] = \
        Field(default_factory=dict, description="clause id → status or {status, amount}")
    total: int | None = None
    notes: str = ""


class Monotonic(_Strict):
    output: ExprText = Field(description="e.g. a05.amount")
    increasing_in: Identifier
    holding: list[Identifier] = Field(default_factory=list)


class InvariantSpec(_Strict):
    id: Identifier
    description: str = ""
    kind: Literal["applicant", "monotonic", "batch"] = "applicant"
    statement: ExprText | None = Field(default=None, description="applicant: over clause results (a14.amount)"
                                                                  "; batch: over year_total")
    monotonic: Monotonic | None = None


class RuleFile(_Strict):
    """One YAML file in a version folder. Sections may be spread over several files."""

    package: PackageMeta | None = None
    facts_catalog: str | None = Field(default=None, description="Relative path of a shared fact catalogue")
    facts: list[Identifier | FactSpec] | None = None
    definitions: dict[Identifier, ExprText] | None = None
    tables: dict[Identifier, Table] | None = None
    clauses: list[ClauseSpec] | None = None
    settlement: Settlement | None = None
    tests: list[TestCase] | None = None
    invariants: list[InvariantSpec] | None = None


class FactCatalog(_Strict):
    """A file of fact specs shared by several packages."""

    facts: list[FactSpec]


def rule_format_json_schema() -> dict[str, Any]:
    """The JSON Schema of a rule file, for editors."""
    schema = RuleFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "policyengine rule file"
    return schema


