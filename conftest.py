import pytest

pytest_plugins = ["shared.testing.fixtures"]

# The fixtures of shared.testing.fixtures that reach the real PostgreSQL, RabbitMQ or object
# store. Every fixture built on them (the service starters, the e2e stack) depends on one,
# so it is in the test's fixture closure too.
INFRASTRUCTURE = frozenset(
    {"database_url", "rabbit", "amqp_namespace", "object_store_server", "national_server"}
)


# The folders whose tests share a stack started once (a session or module fixture): with
# `pytest -n` (make test) each folder's tests run on one worker, so the stack starts once.
SHARED_STACKS = ("tests/e2e/", "tests/contract/", "tests/chaos/")


@pytest.hookimpl(trylast=True)  # after the conftests that add markers themselves
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse to run a test that needs the infrastructure without saying so: `make test-unit`
    (`-m "not integration and not e2e"`) must run with nothing else running."""
    unmarked = []
    for item in items:
        stack = next((f for f in SHARED_STACKS if item.nodeid.startswith(f)), None)
        if stack is not None:
            item.add_marker(pytest.mark.xdist_group(stack.strip("/")))
        used = INFRASTRUCTURE.intersection(getattr(item, "fixturenames", ()))
        marked = item.get_closest_marker("integration") or item.get_closest_marker("e2e")
        if used and not marked:
            unmarked.append(f"  {item.nodeid} uses {', '.join(sorted(used))}")
    if unmarked:
        raise pytest.UsageError(
            "these tests use the real infrastructure but are not marked `integration` or"
            " `e2e` (add `pytestmark = pytest.mark.integration` to the module):\n"
            + "\n".join(unmarked)
        )
