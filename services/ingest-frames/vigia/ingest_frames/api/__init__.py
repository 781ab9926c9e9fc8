"""HTTP layer of the gateway: routes, request/response models, dependencies."""
