"""The identity service: people, sign-in, tokens, JWKS, machine keys."""
