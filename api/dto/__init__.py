"""Response structs (msgspec) of the API resources: typed answers and a typed OpenAPI schema."""
