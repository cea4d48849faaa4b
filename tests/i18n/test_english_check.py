"""The check for English left on Chinese pages finds it, and leaves codes, units and names alone."""

from .english import english_words


def test_finds_english_in_text_and_in_attributes_read_out():
    body = '<p>发布 Publish a listing</p><input placeholder="e.g. H100"><a title="Sold here">来自</a>'
    assert english_words(body) == ["Publish", "a", "listing", "e", "g", "Sold", "here"]


def test_leaves_codes_units_names_addresses_and_peoples_text_alone():
    body = ('<p>R44-00000A7Z-M · 8 × H100 · 80 GB · 192 vCPU · 10 Gbps · ¥20.50 · 2026年12月12日 11:00（北京时间）</p>'
            '<code>Authorization: Bearer token</code><textarea>free text</textarea>'
            '<a href="https://gd.example.cn">https://gd.example.cn</a> ops@gd.example.cn <b>English</b>')  # fmt: skip
    assert english_words(body) == []
