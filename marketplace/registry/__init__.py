"""The national node's registry: applications, reviews, the node directory, resolution of codes."""
