"""Federation: signing keys, OAuth between nodes, token checks, outbound calls."""
