"""The demo catalogue of industry nodes: sellers, agents and terms per GB/T 4754 section (others are generic)."""

# Industry nodes sell to one industry: their own sellers, and agents for its work.
INDUSTRY_SELLER_ROWS = {
    "J": (
        ("Qian Hao", "Beijing Financial Street Computing Cloud Co., Ltd.", ("financial_street", "haidian"),
         (4, 3, 3, 1, 3, 4)),
        ("He Yun", "Shanghai Zhangjiang Fintech Computing Co., Ltd.", ("zhangjiang", "lingang"), (4, 2, 2, 2, 4, 4)),
        ("Xu Lan", "Shenzhen Qianhai Financial Cloud Co., Ltd.", ("qianhai",), (3, 2, 2, 1, 3, 3)),
    ),
}  # fmt: skip
INDUSTRY_AGENTS = {
    "J": (
        ("Anti-money-laundering screening agent",
         "Screens customers and payments against sanctions and PEP lists and drafts suspicious-transaction reports.",
         20, 60),
        ("Credit memo drafting agent",
         "Drafts credit memos from financial statements and bank flows for loan officers to review.", 30, 90),
        ("Annual report Q&A agent", "Answers analysts' questions over annual reports, citing the page.", 10, 40),
        ("Insurance claims triage agent", "Reads claim forms and photos, checks the policy and routes each claim.",
         10, 30),
    ),
}  # fmt: skip
INDUSTRY_TERMS = {
    "J": "For financial institutions: classified protection level 3 (等保三级), data kept in mainland China, "
    "audit logs kept for supervisors.",
}
