"""Applications, keys and reviewers for registry tests."""

from joserfc.jwk import ECKey, OKPKey

from marketplace.registry.policy import RegistryRules
from marketplace.registry.schemas import ApplicationSchema
from marketplace.registry.services import review_application, submit_application

from ..factories import bearer, make_user


def public_jwks(kid: str = "key-1", kty: str = "EC") -> dict:
    """A JWKS with one freshly generated public signing key (EC P-256, or OKP Ed25519)."""
    key = ECKey.generate_key("P-256") if kty == "EC" else OKPKey.generate_key("Ed25519")
    public = key.as_dict(private=False)
    public.update(kid=kid, use="sig")
    return {"keys": [public]}


def private_jwk() -> dict:
    """A private EC key as a JWK (which must never be registered)."""
    key = ECKey.generate_key("P-256").as_dict(private=True)
    key["kid"] = "leaked"
    return key


def regional_application(province: str = "44", **overrides) -> dict:
    """A valid regional node application as an applicant sends it."""
    document = {
        "role": "regional",
        "requested_code": f"R{province}",
        "province": province,
        "industry": None,
        "parent": "N0",
        "construction_entity": {"name": "Guangdong Computing Infrastructure Co.", "registered_capital_cny": 80_000_000},
        "operating_entity": {"name": "Guangdong Computing Network Operations Co.", "telecom_licence": "B1-20231234"},
        "contact": {"name": "Huang Wei", "email": "ops@gd.example.cn", "phone": "+86 20 8888 0000"},
        "public_url": "https://gd.example.cn",
        "jwks": public_jwks(),
    }
    document.update(overrides)
    return document


def industry_application(section: str = "J", parent: str = "R44", sequence: int = 1, **overrides) -> dict:
    """A valid industry node application."""
    return regional_application(
        role="industry",
        requested_code=f"I{section}{sequence:02d}",
        province=None,
        industry=section,
        parent=parent,
        **{"public_url": "https://finance.example.cn", **overrides},
    )


RULES = RegistryRules()  # the defaults: 30 days to decide, 3 applications waiting per account, public https URLs


class Applicant:
    """The account applying in a test (set per test by the `applicant` fixture): any account may apply."""

    user = None
    headers: dict = {}


def applicant(session):
    """A fresh applicant account with an API token, made the current `Applicant`."""
    Applicant.user = make_user(session, role="buyer", name="Node Applicant")
    Applicant.headers = bearer(session, Applicant.user)
    return Applicant.user


def stored_application(session, document: dict, user=None):
    """An application submitted through the service by `user` (a new account unless given)."""
    data = ApplicationSchema().load(document)
    return submit_application(session=session, data=data, applicant=user or make_user(session), rules=RULES)


def staff(session, role: str, scope: str = "44", **kwargs):
    """An account of `role`; a local reviewer is charged with `scope` (Guangdong, R44's province, by default)."""
    user = make_user(session, role=role, name=role.replace("_", " ").title(), **kwargs)
    if role == "local_reviewer":
        user.review_scope = scope
        session.flush()
    return user


def reviewer(session, role: str, scope: str = "44"):
    """A reviewer account (local_reviewer or national_reviewer) and its API headers."""
    user = staff(session, role, scope)
    return user, bearer(session, user)


def approved_regional(session, province: str = "44"):
    """A regional node approved through the registry's own services."""
    application, _token = stored_application(session, regional_application(province))
    national = make_user(session, role="national_reviewer")
    review_application(session=session, application=application, reviewer=national, stage="final",
                       decision="approve", reason="Meets the notice.", rules=RULES)  # fmt: skip
    return application
