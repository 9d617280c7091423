"""Who is calling: accounts (users, API keys) in ClickHouse, the authenticator that turns a credential into a
`api.security.Principal`, and the ASGI middleware that does so for every request.

`ps_live_<key_id>_<secret>` API keys and HS256 JWTs arrive as `Authorization: Bearer ...`; Basic only when
`API_ALLOW_BASIC_AUTH` is on. Other token kinds plug in by prefix (`Authenticator.register_resolver`).
"""
