"""Valid documents and stored objects for tests, built through the project's own services."""

import itertools
from datetime import UTC, datetime, timedelta

from marketplace.accounts.services import create_api_token, create_user
from marketplace.listings.schemas import ListingCreateSchema
from marketplace.listings.services import publish_listing

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


def make_user(session, *, role: str = "seller", name: str = "Test User", organization: str = "", email=None):
    """A stored account with the password PASSWORD."""
    email = email or f"user{next(_numbers)}@example.cn"
    return create_user(session=session, email=email, password=PASSWORD, role=role, name=name, organization=organization)


def bearer(session, user) -> dict:
    """Authorization headers with a fresh API token of `user`."""
    plain, _token = create_api_token(session=session, user=user, name="test")
    return {"Authorization": f"Bearer {plain}"}


def gpu_payload(**overrides) -> dict:
    """A valid GPU listing document as an API client would send it."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    payload = {
        "title": "8× H100 80GB SXM in Gui'an",
        "description": "NVLink, 400G InfiniBand, PyTorch images.",
        "resource_type": "gpu",
        "gpu_model": "H100",
        "gpu_count": 8,
        "gpu_memory_gb": 80,
        "vcpus": 192,
        "memory_gb": 2048,
        "region": "52",
        "city": "Guiyang",
        "datacenter": "Gui'an DC-3",
        "latency_ms": 1.5,
        "unit_price": 2050,
        "currency": "cny",
        "price_unit": "gpu_hour",
        "quantity": 4,
        "available_from": start.isoformat(),
        "available_until": (start + timedelta(days=90)).isoformat(),
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


PAYLOADS = {
    "gpu": gpu_payload(),
    "cpu": gpu_payload(resource_type="cpu", title="64 vCPU compute", gpu_model=None, gpu_count=None,
                       gpu_memory_gb=None, vcpus=64, memory_gb=256, price_unit="vcpu_hour", unit_price=12),
    "storage": gpu_payload(resource_type="storage", title="Object storage", gpu_model=None, gpu_count=None,
                           gpu_memory_gb=None, vcpus=None, memory_gb=None, storage_gb=500_000,
                           price_unit="gb_month", unit_price=12),
    "network": gpu_payload(resource_type="network", title="10G private line", gpu_model=None, gpu_count=None,
                           gpu_memory_gb=None, vcpus=None, memory_gb=None, bandwidth_gbps=10,
                           price_unit="gbps_month", unit_price=300_000),
    "model_service": gpu_payload(resource_type="model_service", title="Qwen2.5-72B API", gpu_model=None,
                                 gpu_count=None, gpu_memory_gb=None, vcpus=None, memory_gb=None,
                                 model_name="Qwen2.5-72B", tokens_per_second=80.0,
                                 price_unit="million_tokens", unit_price=400),
    "agent_service": gpu_payload(resource_type="agent_service", title="Customer-service agent", gpu_model=None,
                                 gpu_count=None, gpu_memory_gb=None, vcpus=None, memory_gb=None,
                                 price_unit="request", unit_price=5),
}  # fmt: skip


def make_listing(session, seller, *, node_code: str = "R44", **overrides):
    """A stored listing published by `seller`, loaded through the create schema."""
    data = ListingCreateSchema().load(gpu_payload(**overrides))
    return publish_listing(session=session, seller=seller, node_code=node_code, data=data)
