"""Sequences through the control API by its OpenAPI links (create -> read -> update -> delete of
cameras, devices and their credentials, pipelines, users and watch-lists and their entries), run by
schemathesis' state machine with a fixed seed and the same four checks as the stateless fuzzing.
The links each sequence took are printed and every create's links to read, update and delete must
have been taken at least once.

One state machine per resource, over that resource's operations only: with every link of the API in
one machine, the links of one resource were a few among dozens, and whether an update link was
drawn at all in the scenarios depended on how many other links the document happened to have.

The sequences that cross services or need a secret the schema cannot carry are explicit tests in
test_flows.py (invite -> accept, device -> token -> frame and packet push).
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import hypothesis
import schemathesis
from schemathesis.config import SchemathesisConfig

from tests.contract.conftest import ContractStack
from tests.contract.test_openapi_fuzz import CHECKS, DOCUMENTS, SEED

RESOURCES = ("cameras", "devices", "pipelines", "users", "watchlists")
SCENARIOS_PER_RESOURCE = 50
STEPS_PER_SCENARIO = 8
# Every create's links that must be followed at least once: read, both updates, delete.
# (A credential's revocation is two links deep; test_flows.py takes that path explicitly.)
REQUIRED_LINKS = [f"{resource}_{verb}" for resource in RESOURCES
                  for verb in ("retrieve", "update", "partial_update", "destroy")]


def stateful_config() -> SchemathesisConfig:
    """Only the OpenAPI links of the document: no inferred ones (they could reach the callers' own user)."""
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "generation": {"mode": "positive", "deterministic": True, "database": "none",
                       "with-security-parameters": False},
        "phases": {"stateful": {"enabled": True, "max-steps": STEPS_PER_SCENARIO,
                                "inference": {"algorithms": []}}},
    })


def test_crud_sequences_follow_every_link(contract_stack: ContractStack) -> None:
    taken: Counter[str] = Counter()
    for resource in RESOURCES:
        schema = schemathesis.openapi.from_dict(DOCUMENTS["control"], config=stateful_config())
        # Which link a scenario draws next depends on what the API answered before (ids, pages), so
        # a run can leave one out; then more scenarios are run (the first ones again, then new ones).
        for scenarios in (SCENARIOS_PER_RESOURCE, 2 * SCENARIOS_PER_RESOURCE, 4 * SCENARIOS_PER_RESOURCE):
            run_sequences(schema.include(path_regex=rf"^/api/v1/{resource}/"), contract_stack, taken, scenarios)
            followed = _followed(taken)
            lacking = [link for link in REQUIRED_LINKS if link.startswith(f"{resource}_") and link not in followed]
            if not lacking:
                break
            print(f"\n{resource}: links not taken in {scenarios} scenarios: {lacking}; running more")

    print(f"\nlink transitions taken ({sum(taken.values())}, {SCENARIOS_PER_RESOURCE}+ scenarios per resource):")
    for transition, count in sorted(taken.items()):
        print(f"  {count:4d}  {transition}")
    missing = [link for link in REQUIRED_LINKS if link not in _followed(taken)]
    assert not missing, f"links never taken: {missing}"
    contract_stack.assert_alive()


def _followed(taken: Counter[str]) -> set[str]:
    """The links (by name) of the transitions taken."""
    return {transition.split("] ", 1)[1].split(" -> ", 1)[0] for transition in taken}


def run_sequences(schema: Any, contract_stack: ContractStack, taken: Counter[str],
                  scenarios: int = SCENARIOS_PER_RESOURCE) -> None:
    """Run the state machine of ``schema``'s links, counting in ``taken`` the transitions applied."""
    base = contract_stack.urls["control"]
    headers = {"Authorization": f"Bearer {contract_stack.flow_token}"}
    serial = itertools.count()

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            # Unique names and e-mails: a create then answers the same whatever ran before it, so the
            # same choices lead to the same sequence (Hypothesis refuses a run that behaves otherwise).
            if isinstance(case.body, dict):
                unique = f"seq-{next(serial)}"
                if isinstance(case.body.get("name"), str):
                    case.body["name"] = unique
                if isinstance(case.body.get("email"), str):
                    case.body["email"] = f"{unique}@{contract_stack.org}.test"
                # The document says a string; the serializer wants rtsp(s)://: without this no camera is born.
                if isinstance(case.body.get("rtsp_url"), str):
                    case.body["rtsp_url"] = f"rtsp://127.0.0.1:9/{unique}"

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base, "headers": headers, "timeout": 30}

        def step(self, input: Any) -> Any:
            output = super().step(input)
            if input.transition is not None and input.is_applied:
                taken[input.transition.id] += 1
            return output

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Sequences.run(settings=hypothesis.settings(
        max_examples=scenarios, stateful_step_count=STEPS_PER_SCENARIO, derandomize=True,
        database=None, phases=[hypothesis.Phase.generate], deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck)))
