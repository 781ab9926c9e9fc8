"""Every operation of control, ingest-frames and ingest-sensors, fuzzed by schemathesis against its own
OpenAPI document, on the real processes of ``conftest.py``: no operation excluded, a fixed seed
(derandomized), at least :data:`EXAMPLES_PER_OPERATION` generated examples each (plus the schema's
examples and the coverage phase's boundary cases), valid and invalid inputs, and four checks:
no 5xx, every status documented, the documented content type, the documented body.

A failure names the operation and prints a curl command that reproduces it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.conftest import ContractStack, openapi_document

SEED = 20260410
EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SERVED_AT = {"control": "/api/schema?format=json", "ingest-frames": "/api/openapi.json",
             "ingest-sensors": "/api/openapi.json"}

# Requests sent per service and operation, reported (and checked) at the end.
CALLS: dict[str, Counter[str]] = {service: Counter() for service in SERVED_AT}


def fuzz_config() -> SchemathesisConfig:
    """The run's configuration: fixed seed, every phase but the stateful one (see test_stateful.py);
    the callers' credentials are headers of each call (the services start after collection)."""
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "generation": {"mode": "all", "max-examples": EXAMPLES_PER_OPERATION, "deterministic": True,
                       "database": "none", "with-security-parameters": False},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
    })


DOCUMENTS = {service: openapi_document(service) for service in SERVED_AT}
control = schemathesis.openapi.from_dict(DOCUMENTS["control"], config=fuzz_config())
frames = schemathesis.openapi.from_dict(DOCUMENTS["ingest-frames"], config=fuzz_config())
sensors = schemathesis.openapi.from_dict(DOCUMENTS["ingest-sensors"], config=fuzz_config())
SCHEMAS = {"control": control, "ingest-frames": frames, "ingest-sensors": sensors}


@pytest.mark.parametrize("service", sorted(SERVED_AT))
def test_the_fuzzed_document_is_the_one_served(service: str, contract_stack: ContractStack) -> None:
    served = httpx.get(contract_stack.urls[service] + SERVED_AT[service], timeout=30)
    assert served.status_code == 200
    assert served.json() == DOCUMENTS[service]


def call(service: str, case: Any, stack: ContractStack, token: str) -> None:
    CALLS[service][case.operation.label] += 1
    case.call_and_validate(base_url=stack.urls[service], headers={"Authorization": f"Bearer {token}"},
                           checks=CHECKS, timeout=30)


@control.parametrize()
def test_control_api_keeps_its_contract(case: Any, contract_stack: ContractStack) -> None:
    call("control", case, contract_stack, contract_stack.fuzz_token)


@frames.parametrize()
def test_frames_gateway_keeps_its_contract(case: Any, contract_stack: ContractStack) -> None:
    call("ingest-frames", case, contract_stack, contract_stack.device_token)


@sensors.parametrize()
def test_sensors_gateway_keeps_its_contract(case: Any, contract_stack: ContractStack) -> None:
    call("ingest-sensors", case, contract_stack, contract_stack.device_token)


@pytest.mark.parametrize("service", sorted(SERVED_AT))
def test_every_operation_was_fuzzed(service: str, contract_stack: ContractStack) -> None:
    operations = {result.ok().label for result in SCHEMAS[service].get_all_operations()}
    calls = CALLS[service]
    print(f"\n{service}: {len(operations)} operations, {sum(calls.values())} requests, "
          f"fewest {min(calls.values(), default=0)} per operation")
    for label in sorted(operations):
        print(f"  {calls[label]:4d}  {label}")
    assert operations and set(calls) == operations, f"not fuzzed: {sorted(operations - set(calls))}"
    contract_stack.assert_alive()
