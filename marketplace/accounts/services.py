"""Accounts and API tokens: create, authenticate, revoke."""

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select
from sqlmodel import Session

from ..audit import record_audit
from ..errors import Conflict, DomainError
from ..identity.industries import SECTIONS
from ..identity.regions import PROVINCES
from ..models import ApiToken, User
from ..models.types import utcnow

TOKEN_PREFIX = "cpn_"
_hasher = PasswordHasher()  # Argon2id with the library's recommended parameters
# Verified against when the email is unknown, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class DuplicateEmail(Conflict):
    """An account with this email exists already."""

    reason = "email_taken"

    def __init__(self, email: str):
        super().__init__("An account with this email exists already; sign in instead.", field="email", status=422)


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively."""
    return email.strip().lower()


def find_user(*, session: Session, email: str) -> User | None:
    """The account with this email, or None."""
    return session.scalars(select(User).where(User.email == normalize_email(email))).first()


def create_user(
    *,
    session: Session,
    email: str,
    password: str,
    role: str,
    name: str,
    organization: str = "",
    national_subject: str | None = None,
) -> User:
    """Create an account with an Argon2id password hash (one INSERT: a GET's autocommit session may call it)."""
    if find_user(session=session, email=email) is not None:
        raise DuplicateEmail(email)
    user = User(
        email=normalize_email(email),
        password_hash=_hasher.hash(password),
        role=role,
        name=name,
        organization=organization,
        national_subject=national_subject,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """The user whose email and password match, or None."""
    user = find_user(session=session, email=email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None:
        record_audit(session=session, action="sign_in_failed", actor=normalize_email(email))
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    record_audit(session=session, action="sign_in", actor=user.email, object=f"user:{user.id}")
    return user


def end_sessions(*, session: Session, user: User) -> None:
    """End every session of `user` on the server: cookies signed before no longer sign in."""
    user.session_nonce = secrets.token_hex(16)
    session.flush()


def change_password(*, session: Session, user: User, current_password: str, new_password: str) -> None:
    """Set a new password after checking the current one; every earlier session ends."""
    try:
        _hasher.verify(user.password_hash, current_password)
    except (VerificationError, InvalidHashError):
        raise DomainError("This is not your current password.", field="current_password", status=403,
                          reason="wrong_password") from None  # fmt: skip
    user.password_hash = _hasher.hash(new_password)
    end_sessions(session=session, user=user)
    record_audit(session=session, action="password.change", actor=user.email, object=f"user:{user.id}")


def set_review_scope(*, session: Session, user: User, scope: str) -> User:
    """Charge a local reviewer with one province (GB/T 2260 code, "44") or one industry (section letter, "J")."""
    scope = scope.strip().upper()
    if user.role != "local_reviewer":
        raise DomainError(f"{user.email} is a {user.role}; only local reviewers have a review scope.", field="role")
    if scope not in PROVINCES and scope not in SECTIONS:
        raise DomainError(f"{scope!r} is neither a province code (e.g. 44) nor an industry section (A to T).",
                          field="scope")  # fmt: skip
    user.review_scope = scope
    session.flush()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(*, session: Session, user: User, name: str) -> tuple[str, ApiToken]:
    """Create a token; the plain value is returned once and only its digest is kept."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(plain), prefix=plain[:10])
    session.add(token)
    session.flush()
    record_audit(session=session, action="token.create", actor=user.email, object=f"token:{token.id}",
                 detail={"name": name, "prefix": token.prefix})  # fmt: skip
    return plain, token


# One statement, built once: every API request asks this first.
_USER_OF_TOKEN = (
    select(User).join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)  # fmt: skip


def user_for_token(*, session: Session, plain: str) -> User | None:
    """The owner of a live token, or None."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    return session.scalars(_USER_OF_TOKEN, {"token_hash": _digest(plain)}).first()


def tokens_of(*, session: Session, user: User) -> list[ApiToken]:
    """A user's tokens, newest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_api_token(*, session: Session, user: User, token_id: int) -> ApiToken | None:
    """Revoke one of the user's own tokens; None if it is not theirs."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_audit(session=session, action="token.revoke", actor=user.email, object=f"token:{token.id}")
        session.flush()
    return token


def link_national_person(
    *, session: Session, subject: str, email: str, name: str, organization: str
) -> tuple[User | None, str]:
    """The local account of a national subject, made on first sign-in; (None, why) when it cannot be."""
    user = session.scalars(select(User).where(User.national_subject == subject)).first()
    if user is not None:
        return user, ""
    # No password is ever told to anyone: this account signs in through national.
    unusable_password = secrets.token_urlsafe(32)
    try:
        user = create_user(session=session, email=email or f"{subject}@national.invalid", role="buyer",
                           password=unusable_password, name=name[:100], organization=organization[:200],
                           national_subject=subject)  # fmt: skip
    except DuplicateEmail:
        # Linking by email alone would hand a local account to whoever holds that email at national.
        return None, f"an account with email {email} exists at this node; sign in with its password."
    return user, ""


def national_buyer_account(*, session: Session, subject: str, email: str, name: str, organization: str) -> User:
    """The local account of a national subject for whom another node orders here, made if it is new.

    The same account the person gets on signing in here through national (it is found by the subject),
    so they see and pay the order here too. An email held by another local account is not taken over.
    """
    user, _problem = link_national_person(session=session, subject=subject, email=email, name=name,
                                          organization=organization)  # fmt: skip
    if user is None:
        user, _problem = link_national_person(session=session, subject=subject, email="", name=name,
                                              organization=organization)  # fmt: skip
    return user
