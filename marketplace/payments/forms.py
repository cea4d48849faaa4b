"""The payment forms of pages: a refund, a payout, a fapiao request and its number (marshmallow at the boundary)."""

import re

from marshmallow import Schema, ValidationError, fields, validate, validates
from stdnum.cn import uscc

from ..i18n.messages import N_

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError("Must not contain control characters.")


def _text(max_len: int, min_len: int = 1, **kw) -> fields.String:
    return fields.String(validate=[validate.Length(min=min_len, max=max_len), _plain], **kw)


def yuan_to_fen(value: str) -> int:
    """'12.5' yuan → 1250 fen; refused unless a positive amount with at most two decimals."""
    if not re.fullmatch(r"[0-9]{1,12}(\.[0-9]{1,2})?", value.strip()):  # ASCII digits: \d takes "１" too
        raise ValidationError(N_("An amount in yuan, like 120 or 120.50."))
    whole, _, cents = value.strip().partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


class YuanField(fields.Field):
    """An amount typed in yuan, loaded as fen."""

    def _deserialize(self, value, attr, data, **kwargs):
        return yuan_to_fen(str(value))


class RefundForm(Schema):
    amount = YuanField(required=True)
    reason = _text(2000, required=True)


class PayoutForm(Schema):
    seller_email = fields.Email(required=True)
    amount = YuanField(required=True)
    reference = _text(200, required=True)
    note = _text(2000, 0, load_default="")


class FapiaoRequestForm(Schema):
    company = _text(200, required=True)
    uscc = fields.String(required=True)

    @validates("uscc")
    def _check_uscc(self, value: str, **_kw) -> None:
        if not uscc.is_valid(value):
            raise ValidationError(N_("Not a valid unified social credit code (18 characters, check character last)."))


class FapiaoIssuedForm(Schema):
    number = _text(40, required=True)
