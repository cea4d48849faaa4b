"""People: sellers, buyers and operators; sign-in; personal API tokens."""
