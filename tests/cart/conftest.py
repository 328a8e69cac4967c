from tests.orders.fixtures import count_statements, make_slipper  # noqa: F401
