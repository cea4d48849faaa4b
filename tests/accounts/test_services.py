"""Account services: creating and authenticating users, API tokens and their revocation."""

import hashlib

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from marketplace.accounts import services
from marketplace.accounts.services import (
    TOKEN_PREFIX,
    DuplicateEmail,
    authenticate,
    create_api_token,
    create_user,
    find_user,
    normalize_email,
    revoke_api_token,
    tokens_of,
    user_for_token,
)
from marketplace.models import ApiToken, User

from ..factories import PASSWORD, make_user


def new_user(session, email="Li.Na@Example.CN", role="buyer"):
    return create_user(session=session, email=email, password=PASSWORD, role=role, name="Li Na", organization="Org")


@pytest.mark.parametrize(("raw", "normal"), [(" Li.Na@Example.CN ", "li.na@example.cn"), ("a@b.cn", "a@b.cn")])
def test_normalize_email(raw, normal):
    assert normalize_email(raw) == normal


def test_create_user_stores_a_normalized_email_and_an_argon2id_hash(db_session):
    user = new_user(db_session)
    stored = db_session.scalars(select(User).where(User.id == user.id)).one()
    assert (stored.email, stored.role, stored.name) == ("li.na@example.cn", "buyer", "Li Na")
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    assert stored.created_at.tzinfo is not None


@pytest.mark.parametrize("email", ["li.na@example.cn", "LI.NA@EXAMPLE.CN", " li.na@example.cn"])
def test_duplicate_email_in_any_case_is_refused(db_session, email):
    new_user(db_session)
    with pytest.raises(DuplicateEmail):
        new_user(db_session, email=email)
    assert len(db_session.scalars(select(User)).all()) == 1


@pytest.mark.parametrize("email", ["li.na@example.cn", "LI.NA@example.CN"])
def test_find_user_ignores_case(db_session, email):
    user = new_user(db_session)
    assert find_user(session=db_session, email=email) is user


@pytest.mark.parametrize(
    ("email", "password", "found"),
    [("li.na@example.cn", PASSWORD, True), ("Li.Na@Example.cn", PASSWORD, True),
     ("li.na@example.cn", PASSWORD.upper(), False), ("li.na@example.cn", "", False),
     ("nobody@example.cn", PASSWORD, False)],
)  # fmt: skip
def test_authenticate(db_session, email, password, found):
    user = new_user(db_session)
    assert authenticate(session=db_session, email=email, password=password) is (user if found else None)


def test_authenticate_upgrades_an_outdated_hash(db_session):
    """A hash made with other (older) parameters is replaced by one with the current ones on sign-in."""
    user = new_user(db_session)
    user.password_hash = old = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD)
    assert services._hasher.check_needs_rehash(old)
    assert authenticate(session=db_session, email=user.email, password=PASSWORD) is user
    assert user.password_hash != old and not services._hasher.check_needs_rehash(user.password_hash)
    assert authenticate(session=db_session, email=user.email, password=PASSWORD) is user


def test_authenticate_with_a_broken_hash_fails_quietly(db_session):
    user = new_user(db_session)
    user.password_hash = "not a hash"
    assert authenticate(session=db_session, email=user.email, password=PASSWORD) is None


def test_token_is_returned_once_and_stored_as_its_digest(db_session):
    user = new_user(db_session)
    plain, token = create_api_token(session=db_session, user=user, name="sync")
    assert plain.startswith(TOKEN_PREFIX) and len(plain) > 40
    stored = db_session.scalars(select(ApiToken).where(ApiToken.id == token.id)).one()
    assert stored.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert (stored.user_id, stored.name, stored.prefix, stored.revoked_at) == (user.id, "sync", plain[:10], None)
    assert plain != create_api_token(session=db_session, user=user, name="sync")[0]


def test_user_for_token_finds_the_owner_of_a_live_token(db_session):
    user, other = new_user(db_session), make_user(db_session)
    plain, _token = create_api_token(session=db_session, user=user, name="sync")
    create_api_token(session=db_session, user=other, name="other")
    assert user_for_token(session=db_session, plain=plain) is user


@pytest.mark.parametrize("plain", ["", "cpn_", "cpn_unknown", "not-a-token", "cpn_" + "x" * 200, "{plain}x"])
def test_user_for_token_refuses_unknown_tokens(db_session, plain):
    real, _token = create_api_token(session=db_session, user=new_user(db_session), name="sync")
    assert user_for_token(session=db_session, plain=plain.format(plain=real)) is None


def test_revoked_token_no_longer_finds_its_user(db_session):
    user = new_user(db_session)
    plain, token = create_api_token(session=db_session, user=user, name="sync")
    assert revoke_api_token(session=db_session, user=user, token_id=token.id) is token
    revoked_at = token.revoked_at
    assert revoked_at is not None and user_for_token(session=db_session, plain=plain) is None
    # Revoking again is harmless and keeps the first moment.
    assert revoke_api_token(session=db_session, user=user, token_id=token.id).revoked_at == revoked_at


def test_a_user_cannot_revoke_someone_elses_token(db_session):
    owner, intruder = new_user(db_session), make_user(db_session)
    plain, token = create_api_token(session=db_session, user=owner, name="sync")
    assert revoke_api_token(session=db_session, user=intruder, token_id=token.id) is None
    assert revoke_api_token(session=db_session, user=intruder, token_id=token.id + 1000) is None
    assert token.revoked_at is None and user_for_token(session=db_session, plain=plain) is owner


def test_tokens_of_lists_a_users_tokens_newest_first(db_session):
    user, other = new_user(db_session), make_user(db_session)
    names = ["first", "second", "third"]
    for name in names:
        create_api_token(session=db_session, user=user, name=name)
    create_api_token(session=db_session, user=other, name="not theirs")
    assert [token.name for token in tokens_of(session=db_session, user=user)] == names[::-1]
