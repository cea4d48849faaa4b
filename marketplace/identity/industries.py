"""GB/T 4754-2017 industrial classification: the twenty sections, A to T, with their names."""

SECTIONS = {
    "A": "Agriculture, forestry, animal husbandry and fishery",
    "B": "Mining",
    "C": "Manufacturing",
    "D": "Electricity, heat, gas and water production and supply",
    "E": "Construction",
    "F": "Wholesale and retail trade",
    "G": "Transport, storage and postal services",
    "H": "Accommodation and catering",
    "I": "Information transmission, software and information technology services",
    "J": "Finance",
    "K": "Real estate",
    "L": "Leasing and business services",
    "M": "Scientific research and technical services",
    "N": "Water conservancy, environment and public facilities management",
    "O": "Resident services, repair and other services",
    "P": "Education",
    "Q": "Health and social work",
    "R": "Culture, sports and entertainment",
    "S": "Public administration, social security and social organisations",
    "T": "International organisations",
}

# The standard's own names (GB/T 4754-2017 门类), as Chinese pages show them.
SECTIONS_ZH = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}

_NAMES = {"en": SECTIONS, "zh_CN": SECTIONS_ZH}


def section_name(letter: str, locale: str = "en") -> str:
    """The name of a section letter in `locale` ('en' or 'zh_CN'), or the letter itself when unknown."""
    return _NAMES.get(locale, SECTIONS).get(letter, letter)


def section_names(locale: str = "en") -> dict[str, str]:
    """Every section letter with its name in `locale`, A to T."""
    return dict(_NAMES.get(locale, SECTIONS))
