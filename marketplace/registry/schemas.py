"""Registry documents (PROTOCOL.md §7) as marshmallow schemas, with the notice's rules."""

import re

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from ..config import NODE_CODE_PATTERNS
from ..federation.jwks import jwks_errors
from ..identity.codes import NATIONAL_CODE
from ..identity.industries import SECTIONS
from ..identity.regions import PROVINCES
from ..inputs import Text, WholeNumber

MIN_REGISTERED_CAPITAL_CNY = 50_000_000
# Value-added telecom business licences: class and category (B1, B2, A2.B1...), a hyphen, eight digits,
# optionally after a province's one-character abbreviation for provincial licences (e.g. 粤B2-20090059).
TELECOM_LICENCE = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]?[AB][12](?:\.[AB][12])*-\d{8}$"
)
NODE_CODE = NODE_CODE_PATTERNS  # the codes a node may ask for, by role: the same rule as its own configuration


class ConstructionEntitySchema(Schema):
    name = Text(required=True, validate=validate.Length(min=2, max=200))
    registered_capital_cny = WholeNumber(
        required=True,
        validate=validate.Range(
            min=MIN_REGISTERED_CAPITAL_CNY,
            max=10**15,
            error=f"The construction entity's registered capital must be at least {MIN_REGISTERED_CAPITAL_CNY:,} CNY.",
        ),
    )


class OperatingEntitySchema(Schema):
    name = Text(required=True, validate=validate.Length(min=2, max=200))
    telecom_licence = Text(
        required=True,
        validate=validate.Regexp(
            TELECOM_LICENCE,
            error="Not a telecommunications business licence number: expected e.g. B1-20231234 or 粤B2-20090059.",
        ),
    )


class ContactSchema(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=100))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = Text(required=True, validate=validate.Regexp(r"^\+?[0-9][0-9 ()-]{5,19}$", error="Not a phone number."))


class ApplicationSchema(Schema):
    """A node application as the applicant sends it."""

    role = fields.String(required=True, validate=validate.OneOf(("regional", "industry")))
    requested_code = Text(required=True, validate=validate.Length(min=2, max=8))
    province = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(tuple(PROVINCES), error="Not a GB/T 2260 province-level code."),
    )
    industry = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(tuple(SECTIONS), error="Not a GB/T 4754-2017 section letter (A to T)."),
    )
    parent = Text(required=True, validate=validate.Length(min=2, max=8))
    construction_entity = fields.Nested(ConstructionEntitySchema, required=True)
    operating_entity = fields.Nested(OperatingEntitySchema, required=True)
    contact = fields.Nested(ContactSchema, required=True)
    public_url = fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=255),
        error_messages={"invalid": "Not a well-formed http(s) URL."},
    )
    jwks = fields.Dict(required=True)

    @validates("requested_code")
    def _upper(self, value: str, **_kw) -> None:
        if value != value.upper():
            raise ValidationError("Write node codes in upper case.")

    @validates("jwks")
    def _jwks(self, value: dict, **_kw) -> None:
        errors = jwks_errors(value)
        if errors:
            raise ValidationError(errors)

    @validates_schema(skip_on_field_errors=True)
    def _role_rules(self, data: dict, **_kw) -> None:
        role, code = data["role"], data["requested_code"]
        errors: dict[str, list[str]] = {}
        if not NODE_CODE[role].match(code):
            example = "R44" if role == "regional" else "IJ01"
            errors["requested_code"] = [f"Not a {role} node code (e.g. {example})."]
        if role == "regional":
            if not data.get("province"):
                errors["province"] = ["Required for a regional node."]
            elif NODE_CODE["regional"].match(code) and code[1:] != data["province"]:
                errors["requested_code"] = [f"A regional node of province {data['province']} is R{data['province']}."]
            if data.get("industry"):
                errors["industry"] = ["Only industry nodes name an industry."]
            if data["parent"] != NATIONAL_CODE:
                errors["parent"] = ["A regional node's parent is the national node N0."]
        else:
            if not data.get("industry"):
                errors["industry"] = ["Required for an industry node."]
            elif NODE_CODE["industry"].match(code) and code[1] != data["industry"]:
                errors["requested_code"] = [
                    f"An industry node of section {data['industry']} starts with I{data['industry']}."
                ]
            if data.get("province"):
                errors["province"] = ["Only regional nodes name a province."]
            if not NODE_CODE["regional"].match(data["parent"]):
                errors["parent"] = ["An industry node's parent is a regional node (e.g. R11)."]
        if errors:
            raise ValidationError(errors)


class ApplicationOutSchema(ApplicationSchema):
    """An application as the registry shows it."""

    id = fields.Integer()
    status = fields.String()
    created_at = fields.AwareDateTime(format="iso")
    decided_at = fields.AwareDateTime(format="iso", allow_none=True)
    due_stage = fields.String(allow_none=True, metadata={"description": "The review stage that is due, if any"})
    lapses_at = fields.AwareDateTime(
        format="iso",
        allow_none=True,
        metadata={"description": "When the application lapses and frees its code unless decided before"},
    )
    reviews = fields.List(fields.Nested(lambda: ReviewOutSchema()))


class SubmittedSchema(ApplicationOutSchema):
    """The answer to a submission: the application and, once, its access token."""

    access_token = fields.String(metadata={"description": "Shown once: Authorization: Bearer <it> reads the status"})


class ReviewSchema(Schema):
    """A reviewer's decision."""

    stage = fields.String(required=True, validate=validate.OneOf(("initial", "final")))
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject")))
    reason = Text(required=True, multiline=True, validate=validate.Length(min=2, max=2000))  # 2: "测试"


class ReviewOutSchema(ReviewSchema):
    id = fields.Integer()
    reviewer = fields.String(attribute="reviewer_email")
    reviewer_role = fields.String()
    created_at = fields.AwareDateTime(format="iso")


class NodeSchema(Schema):
    """A node of the directory."""

    code = fields.String()
    role = fields.String()
    parent = fields.String(allow_none=True)
    name = fields.String()
    province = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    public_url = fields.String()
    jwks = fields.Dict()
    status = fields.String()
    updated_at = fields.AwareDateTime(format="iso", allow_none=True)


class NodeListSchema(Schema):
    nodes = fields.List(fields.Nested(NodeSchema))


class NodeFilterSchema(Schema):
    role = fields.String(validate=validate.OneOf(("national", "regional", "industry")))
    status = fields.String(validate=validate.OneOf(("active", "suspended")))
    parent = Text(validate=validate.Length(min=2, max=8))


class StatusChangeSchema(Schema):
    """Why an operator suspends or reactivates a node."""

    reason = Text(required=True, multiline=True, validate=validate.Length(min=2, max=2000))  # 2: "测试"


class ResolutionSchema(Schema):
    """Where an identification code comes from, and what it is now."""

    code = fields.String()
    origin = fields.String()
    origin_role = fields.String()
    origin_status = fields.String()
    origin_url = fields.String()
    kind = fields.String(allow_none=True, metadata={
        "description": "listing, or order when this node holds the order and the caller may see it (its buyer, "
                       "its seller, an operator); else null"})
    listing_url = fields.String()
    order_url = fields.String(metadata={"description": "the order's page at its origin, for its buyer, seller and "
                                                       "operators"})
    listing = fields.Dict(allow_none=True, metadata={"description": "status and version, once synced to national"})
