"""A realistic demo catalogue: sellers and listings of every resource type, made through the services."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from ..accounts.services import create_user, find_user
from ..identity.industries import section_name
from ..identity.regions import province_name
from .demo_industries import INDUSTRY_AGENTS, INDUSTRY_SELLER_ROWS, INDUSTRY_TERMS
from .schemas import ListingCreateSchema
from .services import publish_listing, set_listing_status

# key: (province code, city, datacenter, one-way latency to the metro access point in ms: low, high)
_SITES = {
    "guian": ("52", "Gui'an", "Gui'an New Area Data Center Cluster, Hall B", 6.0, 14.0),
    "guiyang": ("52", "Guiyang", "Guiyang Big Data Valley DC-2", 3.0, 9.0),
    "hohhot": ("15", "Hohhot", "Helingeer Cloud Valley DC-3", 5.0, 12.0),
    "ulanqab": ("15", "Ulanqab", "Ulanqab Jining Intelligent Computing Center", 8.0, 20.0),
    "zhongwei": ("64", "Zhongwei", "Zhongwei West Cloud Base, Building 7", 8.0, 18.0),
    "qingyang": ("62", "Qingyang", "Qingyang Hub Data Center, Phase I", 9.0, 20.0),
    "xian": ("61", "Xi'an", "Xixian New Area Qinhan Cloud DC", 2.0, 7.0),
    "yizhuang": ("11", "Beijing", "Yizhuang AI Computing Center", 0.5, 3.0),
    "haidian": ("11", "Beijing", "Zhongguancun Cloud DC, Haidian", 0.5, 2.0),
    "lingang": ("31", "Shanghai", "Lingang Intelligent Computing Park, Hall 3", 1.0, 4.0),
    "suzhou": ("32", "Suzhou", "Suzhou Industrial Park DC-5", 1.5, 5.0),
    "hangzhou": ("33", "Hangzhou", "Future Sci-Tech City DC, Yuhang", 1.0, 4.0),
    "qianhai": ("44", "Shenzhen", "Qianhai Cloud DC", 0.5, 3.0),
    "shaoguan": ("44", "Shaoguan", "Shaoguan Data Center Cluster, Start-up Zone", 4.0, 10.0),
    "chengdu": ("51", "Chengdu", "Tianfu Intelligent Computing Center", 1.0, 5.0),
    "chongqing": ("50", "Chongqing", "Liangjiang Cloud Computing Park DC-1", 1.5, 6.0),
    "wuhan": ("42", "Wuhan", "Optics Valley AI Computing Center", 1.0, 5.0),
    "wuhu": ("34", "Wuhu", "Wuhu Data Center Cluster, Jiangbei DC-1", 3.0, 8.0),
    "nansha": ("44", "Guangzhou", "Nansha Intelligent Computing Center, Phase II", 1.0, 4.0),
    "mentougou": ("11", "Beijing", "Mentougou Jingxi Intelligent Valley DC", 1.0, 4.0),
    "financial_street": ("11", "Beijing", "Financial Street Disaster-Recovery DC, Xicheng", 0.5, 2.0),
    "zhangjiang": ("31", "Shanghai", "Zhangjiang Financial Data Center, Pudong", 0.5, 3.0),
}

# The GB/T 2260 city of each demo city (their seats' coordinates come from identity.cities).
_CITY_CODES = {
    "Gui'an": "520100", "Guiyang": "520100", "Hohhot": "150100", "Ulanqab": "150900", "Zhongwei": "640500",
    "Qingyang": "621000", "Xi'an": "610100", "Beijing": "110100", "Shanghai": "310100", "Suzhou": "320500",
    "Hangzhou": "330100", "Shenzhen": "440300", "Shaoguan": "440200", "Chengdu": "510100", "Chongqing": "500100",
    "Wuhan": "420100", "Wuhu": "340200", "Guangzhou": "440100",
}  # fmt: skip

# name, organization, sites, weight per resource type (gpu, cpu, storage, network, model_service, agent_service)
_SELLER_ROWS = (
    ("Wang Lei", "Gui'an Computing Center Co., Ltd.", ("guian", "guiyang"), (5, 3, 3, 1, 1, 0)),
    ("Zhao Min", "Inner Mongolia Helin Cloud Valley Data Co., Ltd.", ("hohhot", "ulanqab"), (6, 2, 3, 2, 0, 0)),
    ("Ma Jun", "Ningxia Western Cloud Computing Co., Ltd.", ("zhongwei", "qingyang", "xian"), (5, 2, 2, 3, 0, 0)),
    ("Chen Jing", "Shanghai Lingang Intelligent Computing Co., Ltd.", ("lingang", "suzhou"), (6, 2, 1, 1, 2, 1)),
    ("Liu Yang", "Shenzhen Pengcheng Cloud Services Co., Ltd.", ("qianhai", "shaoguan"), (5, 3, 2, 2, 1, 1)),
    ("Li Na", "Chengdu Tianfu Intelligent Computing Co., Ltd.", ("chengdu", "chongqing"), (5, 2, 2, 1, 1, 1)),
    ("Zhang Wei", "Beijing Yizhuang AI Infrastructure Co., Ltd.", ("yizhuang", "haidian", "wuhan"), (6, 2, 1, 1, 2, 2)),
    ("Sun Hui", "Hangzhou Lingxi Model Services Co., Ltd.", ("hangzhou", "haidian"), (1, 0, 0, 0, 6, 6)),
    ("Zhou Tao", "Yangtze Data Link Network Co., Ltd.", ("wuhu", "wuhan", "chongqing"), (1, 2, 5, 6, 0, 0)),
    ("Huang Wei", "Guangzhou Nansha Intelligent Computing Co., Ltd.", ("nansha", "qianhai"), (6, 2, 2, 1, 2, 1)),
    ("Lin Feng", "Guangdong Pearl River Data Network Co., Ltd.", ("shaoguan", "nansha"), (1, 3, 5, 6, 0, 0)),
    ("Gao Yan", "Beijing Jingxi Data Network Co., Ltd.", ("mentougou", "yizhuang"), (2, 3, 5, 5, 0, 0)),
)


def _seller_dicts(rows) -> list[dict]:
    return [
        {"email": f"seller{i}@demo.cpn.example", "name": name, "organization": org}
        for i, (name, org, _sites, _weights) in enumerate(rows, start=1)
    ]


DEMO_SELLERS = _seller_dicts(_SELLER_ROWS)  # national's, the whole country's

_TYPE_SHARES = (("gpu", 0.45), ("cpu", 0.15), ("storage", 0.12), ("network", 0.08),
                ("model_service", 0.12), ("agent_service", 0.08))  # fmt: skip

# gpu_model, memory GB, fen per GPU-hour (low, high), weight, full name, interconnect, software (domestic chips)
_NV, _CANN = "NVLink + 400G InfiniBand NDR", "CANN 8.0 with MindSpore 2.4 and PyTorch (torch_npu)"
_GPUS = (
    ("H100", 80, 1800, 2600, 8, "NVIDIA H100 SXM5 80GB HBM3", _NV, None),
    ("H800", 80, 1600, 2300, 6, "NVIDIA H800 SXM5 80GB HBM3", _NV, None),
    ("H20", 96, 600, 900, 7, "NVIDIA H20 96GB HBM3", _NV, None),
    ("A100", 80, 700, 1100, 9, "NVIDIA A100 SXM4 80GB HBM2e", "NVLink + 200G InfiniBand HDR", None),
    ("A800", 80, 650, 1000, 7, "NVIDIA A800 SXM4 80GB HBM2e", "NVLink + 200G InfiniBand HDR", None),
    ("L40S", 48, 450, 700, 5, "NVIDIA L40S 48GB GDDR6", "PCIe Gen4, 100G RoCE", None),
    ("L20", 48, 300, 480, 5, "NVIDIA L20 48GB GDDR6", "PCIe Gen4, 25G Ethernet", None),
    ("RTX 4090", 24, 180, 320, 9, "NVIDIA GeForce RTX 4090 24GB", "PCIe Gen4, 25G Ethernet", None),
    ("Ascend 910B", 64, 800, 1300, 9, "Huawei Ascend 910B 64GB HBM2e", "HCCS + 200G RoCE", _CANN),
    ("Ascend 910C", 128, 1200, 1800, 4, "Huawei Ascend 910C 128GB HBM", "HCCS + 400G RoCE", _CANN),
    ("DCU K100", 64, 400, 650, 4, "Hygon DCU K100 64GB HBM2e", "xGMI + 200G RoCE", "DTK 24.04 (ROCm-compatible)"),
    ("MLU370-X8", 48, 250, 420, 3, "Cambricon MLU370-X8 48GB", "MLU-Link + 100G RoCE", "Neuware with torch_mlu"),
    ("Kunlun P800", 96, 600, 950, 3, "Kunlunxin P800 96GB", "XPU Link + 200G RoCE", "XPU SDK with PaddlePaddle"),
    ("MTT S4000", 48, 250, 400, 3, "Moore Threads MTT S4000 48GB", "MTLink + 100G RoCE", "MUSA SDK with torch_musa"),
)
_GPU_USES = ("Suited to pre-training and full-parameter fine-tuning of 7B-70B models.",
             "A good fit for high-throughput LLM inference with vLLM or SGLang.",
             "Popular for LoRA fine-tuning, Stable Diffusion and video generation workloads.",
             "Slurm or Kubernetes scheduling on request; shared parallel file system mounted.")  # fmt: skip
_TERMS = ("Minimum rental one week; discounts from three months.", "Tier III+ facility, 2N power, PUE 1.25.",
          "Billed per minute after the first hour; no setup fee.", "Eligible for local compute vouchers (算力券).",
          "Our engineers help migrate your images and data for free.",
          "24/7 on-site operations team and 15-minute response.")  # fmt: skip
# Only true of the western hubs, where power is cheap and green.
_WEST_TERMS = ("Over 60% of the power is wind and solar (绿电).", "Free-air cooling most of the year, PUE 1.15.",
               "A national hub of the East-Data-West-Computing programme (东数西算).")  # fmt: skip
_WEST = {"15", "52", "62", "64"}
_CPUS = (("Intel Xeon Platinum 8480+", 9, 14), ("AMD EPYC 9654", 8, 13), ("Intel Xeon Gold 6430", 6, 10),
         ("Huawei Kunpeng 920", 4, 8), ("Hygon C86 7390", 4, 8), ("Phytium S5000C", 4, 7))  # fmt: skip
# kind, fen per GB-month (low, high), what it is
_STORAGE = (
    ("S3-compatible object storage", 8, 14, "Erasure coded 8+4 across three halls; versioning and lifecycle rules."),
    ("Lustre parallel file system", 18, 25, "All-flash, up to 200 GB/s aggregate read; mounts on our GPU clusters."),
    ("High-performance NAS", 14, 22, "NFSv4 and SMB, snapshots every hour, kept for 30 days."),
    ("NVMe block storage", 18, 25, "Triple-replicated volumes, 100k IOPS per volume, sub-millisecond latency."),
    ("Cold archive storage", 8, 10, "Tape-backed archive for datasets and checkpoints; restore within 12 hours."),
)
# kind, fen per Gbps-month (low, high)
_NETWORKS = (("dedicated line", 600_000, 1_500_000), ("BGP internet bandwidth", 1_500_000, 3_500_000),
             ("DWDM wavelength", 300_000, 900_000), ("IX port", 200_000, 500_000))  # fmt: skip
_NET_PEERS = ("Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Hangzhou", "Hong Kong", "Wuhan")
# model_name, fen per million tokens (low, high), tokens per second (low, high), what it is
_MODELS = (
    ("DeepSeek-V3", 200, 800, 30, 80, "671B-parameter MoE (37B active), 128K context"),
    ("DeepSeek-R1", 400, 1600, 25, 60, "reasoning model with a visible chain of thought"),
    ("Qwen2.5-72B-Instruct", 400, 1200, 30, 70, "strong Chinese and English instruction following"),
    ("Qwen2.5-7B-Instruct", 100, 200, 90, 200, "small, fast and cheap for classification and extraction"),
    ("Qwen2.5-Coder-32B-Instruct", 200, 600, 40, 90, "code completion and repair in 40+ languages"),
    ("GLM-4-Plus", 500, 1000, 30, 70, "general chat with tool calling, 128K context"),
    ("GLM-4-9B-Chat", 100, 200, 80, 180, "compact bilingual chat model"),
    ("Kimi-K2-Instruct", 400, 1600, 25, 60, "agentic MoE model with long context"),
    ("ERNIE-4.5-Turbo", 300, 1200, 30, 80, "Baidu's multimodal flagship"),
    ("Llama-3.1-70B-Instruct", 300, 700, 30, 70, "open-weight English-first model"),
)
# title, description, fen per request (low, high)
_AGENTS = (
    ("Contract review agent", "Flags risky clauses in Chinese and English contracts and suggests redlines.", 30, 80),
    ("Customer service agent", "Answers on web chat and WeChat from your knowledge base; hands off to people.", 5, 20),
    ("Text-to-SQL analyst agent", "Turns questions into SQL over your warehouse and explains its charts.", 10, 40),
    ("Document Q&A agent (RAG)", "Indexes your PDFs and wikis and answers with citations to the source pages.", 8, 30),
    ("Code review agent", "Reviews merge requests on GitLab or Gitee and comments on bugs and style.", 20, 60),
    ("Invoice extraction agent", "Reads VAT invoices (增值税发票) and receipts into structured JSON.", 5, 15),
    ("Meeting minutes agent", "Transcribes Mandarin or English meetings into minutes with action items.", 15, 50),
)
_CPU_IMAGES = ("CentOS Stream, Ubuntu 22.04 and openEuler images.", "Batch pricing for CI, ETL and simulation jobs.",
               "Kylin OS (麒麟) and UOS images for domestic-stack projects.")  # fmt: skip


def _nice(value: float) -> int:
    """Round a price the way a seller would quote it."""
    step = 1 if value < 100 else 5 if value < 1000 else 10 if value < 100_000 else 100 if value < 1_000_000 else 10_000
    return max(1, round(value / step) * step)


def _priced(rng: random.Random, options: tuple[tuple[str, float, int], ...]) -> dict:
    """One of (price unit, price, weight), as the document's price fields."""
    unit, price, _weight = rng.choices(options, weights=[o[2] for o in options])[0]
    return {"price_unit": unit, "unit_price": _nice(price)}


def _gpu(rng: random.Random, city: str) -> dict:
    model, mem, low, high, _weight, full, link, stack = rng.choices(_GPUS, weights=[g[4] for g in _GPUS])[0]
    count = rng.choice((1, 2, 4, 8, 8, 8) if mem >= 64 else (1, 2, 4, 8))
    per_gpu = rng.uniform(low, high)
    # Whole 8-GPU servers are often quoted per hour; long rentals per month at a discount.
    server = ("hour", 8 * per_gpu * rng.uniform(0.92, 1.0), 4 if count == 8 else 0)
    month = ("month", count * per_gpu * 730 * rng.uniform(0.55, 0.8), 2)
    price = _priced(rng, (("gpu_hour", per_gpu, 10), server, month))
    vcpus, ram = count * rng.choice((12, 16, 24, 28)), count * rng.choice((64, 128, 256))
    nvme = count * rng.choice((960, 1920, 3840))
    use = rng.choice(("training", "inference", "fine-tuning"))
    kind = "server" if count == 8 else "instance"
    fabric = count == 8 and mem >= 64  # training servers come with one 200-400G NIC per GPU
    titles = (f"{count}× {model} {mem}GB {kind} in {city}", f"Dedicated {count}× {model} bare metal, {city}")
    stack = f"{stack}; domestic accelerator (国产算力)" if stack else "CUDA 12.4, NCCL and PyTorch 2.5 images"
    return price | {
        "title": rng.choice((*titles, f"{model} {mem}GB × {count} for {use}")),
        "description": f"{count}× {full}, {link}. Host: {vcpus} vCPUs, {ram} GB RAM, {nvme} GB local NVMe. "
        f"{stack}. {rng.choice(_GPU_USES)}",
        "gpu_model": model,
        "gpu_count": count,
        "gpu_memory_gb": mem,
        "vcpus": vcpus,
        "memory_gb": ram,
        "storage_gb": nvme,
        "bandwidth_gbps": rng.choice((800, 1600, 3200) if fabric else (25, 100, 200)),
    }


def _cpu(rng: random.Random, city: str) -> dict:
    family, low, high = rng.choice(_CPUS)
    vcpus = rng.choice((4, 8, 16, 32, 64, 96, 128, 192))
    ram = vcpus * rng.choice((2, 4, 8))
    rate = rng.uniform(low, high)
    data = _priced(rng, (("vcpu_hour", rate, 6), ("hour", rate * vcpus, 2), ("month", rate * vcpus * 730 * 0.6, 2)))
    kind = "bare metal server" if vcpus >= 96 else rng.choice(("compute instance", "VM", "batch node"))
    data |= {
        "title": f"{vcpus} vCPU / {ram} GB {family} {kind}, {city}",
        "description": f"{family} {kind}, {vcpus} vCPUs and {ram} GB RAM. {rng.choice(_CPU_IMAGES)}",
        "vcpus": vcpus,
        "memory_gb": ram,
    }
    if rng.random() < 0.6:
        data["storage_gb"] = rng.choice((100, 200, 500, 1000))
    if rng.random() < 0.5:
        data["bandwidth_gbps"] = rng.choice((1, 5, 10, 25))
    return data


def _storage(rng: random.Random, city: str) -> dict:
    kind, low, high, what = rng.choice(_STORAGE)
    tb = rng.choice((10, 50, 100, 200, 500, 1000, 2000))
    rate = rng.uniform(low, high)
    data = _priced(rng, (("gb_month", rate, 8), ("month", tb * 1000 * rate * 0.85, 2)))
    data |= {
        "title": f"{tb} TB {kind} in {city}",
        "description": f"{kind[0].upper()}{kind[1:]}, {tb} TB. {what}",
        "storage_gb": tb * 1000,
    }
    if tb >= 500:
        data["quantity"] = rng.randint(1, 3)  # petabyte-scale pools are few
    if kind.startswith(("Lustre", "NVMe")) or rng.random() < 0.3:
        data["bandwidth_gbps"] = rng.choice((10, 25, 100, 200))
    return data


def _network(rng: random.Random, city: str) -> dict:
    kind, low, high = rng.choice(_NETWORKS)
    gbps = rng.choice((1, 2, 5, 10) if kind == "BGP internet bandwidth" else (1, 10, 10, 40, 100, 400))
    rate = rng.uniform(low, high) / (1 + gbps / 100)  # big circuits are cheaper per Gbps
    # Hourly burst capacity costs more than its share of a month.
    price = _priced(rng, (("gbps_month", rate, 7), ("month", rate * gbps * 0.85, 2), ("hour", rate * gbps / 365, 1)))
    peer = rng.choice([p for p in _NET_PEERS if p != city])
    if kind in ("dedicated line", "DWDM wavelength"):
        title, what = f"{gbps} Gbps {kind} {city} ↔ {peer}", f"Point to point to {peer}, carrier-diverse paths"
    else:
        title, what = f"{gbps} Gbps {kind} in {city}", "China Telecom, China Unicom and China Mobile upstreams"
    description = f"{gbps} Gbps {kind} from {city}. {what}; 99.95% availability SLA, 24/7 NOC."
    return price | {"title": title, "description": description, "bandwidth_gbps": gbps}


def _model_service(rng: random.Random, city: str) -> dict:
    name, low, high, tps_low, tps_high, what = rng.choice(_MODELS)
    chip = rng.choice(("Ascend 910B", "H20", "H800", "A800", "Kunlun P800"))
    options = (("million_tokens", rng.uniform(low, high), 15), ("request", rng.uniform(2, 20), 2))
    price = _priced(rng, (*options, ("month", rng.uniform(1_500_000, 9_000_000), 3)))
    plans = {"million_tokens": "Billed per million output tokens", "request": "A flat price per request"}
    plan = plans.get(price["price_unit"], "A dedicated endpoint with reserved throughput")
    return price | {
        "title": f"{name} API{' (dedicated endpoint)' if price['price_unit'] == 'month' else ''}, {city}",
        "description": f"{name}: {what}. OpenAI-compatible API on {chip} in {city}. "
        f"{plan}; data stays in mainland China (数据不出境).",
        "model_name": name,
        "tokens_per_second": round(rng.uniform(tps_low, tps_high), 1),
    }


def _agent_service(rng: random.Random, city: str, agents=_AGENTS) -> dict:
    title, what, low, high = rng.choice(agents)
    options = (("request", rng.uniform(low, high), 2), ("hour", rng.uniform(400, 3000), 1))
    data = _priced(rng, (*options, ("month", rng.uniform(99_000, 1_999_000), 1)))
    data |= {
        "title": f"{title}, monthly seat" if data["price_unit"] == "month" else title,
        "description": f"{what} Hosted in {city}; private deployment on request.",
    }
    if rng.random() < 0.7:
        data["model_name"] = rng.choice(_MODELS)[0]
    return data


_BUILDERS = {"gpu": _gpu, "cpu": _cpu, "storage": _storage, "network": _network,
             "model_service": _model_service, "agent_service": _agent_service}  # fmt: skip


def _type_plan(rng: random.Random, count: int) -> list[str]:
    """Resource types for `count` listings in the demo's shares; every type once count allows."""
    if count < len(_TYPE_SHARES):
        return [t for t, _share in _TYPE_SHARES][: max(count, 0)]
    plan = [t for t, share in _TYPE_SHARES[1:] for _ in range(max(1, int(count * share)))]
    plan += ["gpu"] * (count - len(plan))
    rng.shuffle(plan)
    return plan


@dataclass(frozen=True)
class _Scope:
    """What a node sells in the demo: its sellers (name, organization, sites, weights by type), and its sites."""

    rows: tuple
    sites: dict
    industry: str | None = None


def _scope(node_code: str) -> _Scope:
    """National sells across the country, a regional node in its province, an industry node to its industry."""
    if node_code.startswith("R"):
        province = node_code[1:]
        rows = tuple((name, org, kept, weights) for name, org, sites, weights in _SELLER_ROWS
                     if (kept := tuple(site for site in sites if _SITES[site][0] == province)))  # fmt: skip
        if rows:
            return _Scope(rows, _SITES)
        place = province_name(province)
        site = {"local": (province, place, f"{place} Intelligent Computing Center, Hall A", 1.0, 6.0)}
        rows = (("Wu Gang", f"{place} Computing Infrastructure Co., Ltd.", ("local",), (6, 3, 2, 1, 1, 1)),
                ("Deng Li", f"{place} Cloud and Network Co., Ltd.", ("local",), (1, 3, 5, 5, 1, 1)),
                ("Xie Ping", f"{place} Model Services Co., Ltd.", ("local",), (1, 0, 0, 0, 6, 6)))  # fmt: skip
        return _Scope(rows, site)
    if node_code.startswith("I"):
        section = node_code[1]
        rows = INDUSTRY_SELLER_ROWS.get(section) or (
            ("Wu Gang", f"{section_name(section)} Industry Computing Services Co., Ltd.",
             ("haidian", "lingang", "qianhai"), (4, 2, 2, 1, 3, 3)),
        )  # fmt: skip
        return _Scope(rows, _SITES, section)
    return _Scope(_SELLER_ROWS, _SITES)


def demo_sellers(node_code: str) -> list[dict]:
    """The demo sellers of a node (emails seller1@demo.cpn.example, seller2@... at every node)."""
    return _seller_dicts(_scope(node_code).rows)


def _raw_listing(rng: random.Random, resource_type: str, now: datetime, scope: _Scope) -> tuple[int, dict]:
    """The index of its seller and a raw listing document, as a client would send it."""
    column = list(_BUILDERS).index(resource_type)
    weights = [row[3][column] for row in scope.rows]
    seller = rng.choices(range(len(scope.rows)), weights=weights if any(weights) else None)[0]
    region, city, datacenter, lat_low, lat_high = scope.sites[rng.choice(scope.rows[seller][2])]
    start = now + timedelta(hours=rng.randint(-7 * 24, 30 * 24))
    end = start + timedelta(days=rng.randint(30, 365))
    if resource_type == "agent_service" and scope.industry in INDUSTRY_AGENTS:
        raw = _agent_service(rng, city, INDUSTRY_AGENTS[scope.industry])
    else:
        raw = _BUILDERS[resource_type](rng, city)
    if resource_type in ("gpu", "cpu", "storage"):
        raw["description"] += " " + rng.choice(_TERMS + _WEST_TERMS if region in _WEST else _TERMS)
    if scope.industry:
        terms = INDUSTRY_TERMS.get(scope.industry, f"Offered to the {section_name(scope.industry)} industry.")
        raw["description"] += " " + terms
    raw.setdefault("quantity", 0 if rng.random() < 0.05 else min(64, int(rng.triangular(1, 65, 4))))
    raw |= {
        "resource_type": resource_type,
        "region": region,
        "city": city,
        "city_code": _CITY_CODES.get(city),
        "datacenter": datacenter,
        "latency_ms": round(rng.uniform(lat_low, lat_high), 1),
        "currency": "cny",
        "available_from": start.isoformat(),
        "available_until": end.isoformat(),
    }
    return seller, raw


def demo_documents(*, node_code: str, count: int, seed: int = 2026) -> list[tuple[int, dict]]:
    """The node's demo listings as (index of its seller in demo_sellers(node_code), raw document)."""
    scope = _scope(node_code)
    rng = random.Random(f"{seed}-{node_code}")
    # Whole hours read cleanly on the pages; this anchor is the only thing the seed does not fix.
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    documents = []
    for i, resource_type in enumerate(_type_plan(rng, count)):
        seller, raw = _raw_listing(rng, resource_type, now, scope)
        # About 5% drafts and 5% paused, spread through the catalogue; the rest is for sale.
        raw["status"] = "draft" if i % 20 == 7 else "paused" if i % 20 == 13 else "published"
        documents.append((seller, raw))
    return documents


def load_demo_catalogue(*, session: Session, node_code: str, password: str, count: int = 240, seed: int = 2026) -> int:
    """Create the node's demo sellers (signing in with `password`) and `count` listings (published mostly, a few
    drafts/paused).

    Each node gets a catalogue of its own: a regional node's sites are in its province, an industry
    node's sellers and agents serve its industry, national's span the country; the seed is mixed
    with the node's code, so no two nodes list the same offers.
    Return how many listings were created; 0 if the demo sellers already exist (idempotent).
    """
    people = demo_sellers(node_code)
    if any(find_user(session=session, email=s["email"]) is not None for s in people):
        return 0
    sellers = [create_user(session=session, password=password, role="seller", **s) for s in people]
    schema = ListingCreateSchema()
    documents = demo_documents(node_code=node_code, count=count, seed=seed)
    for seller, raw in documents:
        paused = raw["status"] == "paused"
        data = schema.load(raw | {"status": "published"} if paused else raw)
        listing = publish_listing(session=session, seller=sellers[seller], node_code=node_code, data=data)
        if paused:
            set_listing_status(session=session, listing=listing, status="paused")
    return len(documents)
