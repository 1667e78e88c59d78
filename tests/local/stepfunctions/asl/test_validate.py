"""Deploy-time validation: what the interpreter cannot run is rejected naming the state."""

import copy

import pytest

from pipeline.errors import N2NError
from pipeline.local.stepfunctions.asl import UnsupportedDefinition, validate_definition

SUPPORTED = {"arn:aws:states:::lambda:invoke", "arn:aws:states:::batch:submitJob"}

VALID = {
    "Comment": "every state type",
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"Payload.$": "$", "Name.$": "States.Format('{}', $$.Execution.Name)"},
            "ResultSelector": {"p.$": "$.Payload"},
            "ResultPath": "$.prepared",
            "TimeoutSeconds": 60,
            "HeartbeatSeconds": 10,
            "Retry": [
                {"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 0},
                {
                    "ErrorEquals": ["States.ALL"],
                    "IntervalSeconds": 2,
                    "BackoffRate": 1.5,
                    "MaxDelaySeconds": 9,
                },
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [{"Not": {"Variable": "$.x", "IsPresent": True}, "Next": "Wait"}],
            "Default": "Fan",
        },
        "Wait": {"Type": "Wait", "SecondsPath": "$.s", "Next": "Fan"},
        "Fan": {
            "Type": "Parallel",
            "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}],
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"v.$": "$$.Map.Item.Value"},
            "MaxConcurrency": 0,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Submit",
                "States": {
                    "Submit": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::batch:submitJob",
                        "End": True,
                    }
                },
            },
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
    },
}


def check(definition):
    validate_definition(definition, lambda resource: resource in SUPPORTED)


def test_valid_definition_passes_and_is_not_modified():
    definition = copy.deepcopy(VALID)
    check(definition)
    assert definition == VALID


def mutated(path, value):
    """VALID with the field at ``path`` (a list of keys) set to ``value`` (None: removed)."""
    definition = copy.deepcopy(VALID)
    *parents, last = path
    node = definition
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return definition


def test_a_top_level_timeout_is_accepted():
    """ASL allows TimeoutSeconds at the top of a state machine (not in a branch)."""
    check(mutated(["TimeoutSeconds"], 86400))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ["States", "Done", "Type"],
            "Foo",
            "State 'Done' uses Type 'Foo', which the local backend cannot run: use one of",
        ),
        (["StartAt"], None, "The state machine has StartAt None"),
        (["StartAt"], "Nowhere", "The state machine has StartAt 'Nowhere'"),
        (["States"], {}, "The state machine has no States"),
        (["TimeoutSeconds"], 0, "The state machine has TimeoutSeconds 0"),
        (
            ["States", "Each", "ItemProcessor", "TimeoutSeconds"],
            60,
            "A branch of state 'Each' has the field 'TimeoutSeconds'",
        ),
        (["QueryLanguage"], "JSONata", "The state machine uses QueryLanguage 'JSONata'"),
        (
            ["States", "Prepare", "Resource"],
            "arn:aws:states:::sqs:sendMessage",
            "State 'Prepare' uses Resource",
        ),
        (["States", "Prepare", "Next"], "Nowhere", "State 'Prepare' has Next 'Nowhere'"),
        (
            ["States", "Prepare", "Credentials"],
            {},
            "State 'Prepare' uses cross-account task 'Credentials'",
        ),
        (["States", "Prepare", "End"], True, "State 'Prepare' has both or neither of Next and End"),
        (
            ["States", "Prepare", "Parameters"],
            {"x.$": "States.Nope()"},
            "State 'Prepare' has a Parameters whose",
        ),
        (["States", "Prepare", "ResultPath"], "$.a[*]", "State 'Prepare' has ResultPath"),
        (["States", "Prepare", "InputPath"], "a.b", "State 'Prepare' has InputPath"),
        (["States", "Prepare", "TimeoutSeconds"], 0, "State 'Prepare' has TimeoutSeconds 0"),
        (["States", "Prepare", "HeartbeatSeconds"], 60, "State 'Prepare' has HeartbeatSeconds 60"),
        (
            ["States", "Prepare", "Retry", 1, "BackoffRate"],
            0.5,
            "State 'Prepare' has Retry BackoffRate",
        ),
        (
            ["States", "Prepare", "Retry", 0, "MaxAttempts"],
            -1,
            "State 'Prepare' has Retry MaxAttempts",
        ),
        (
            ["States", "Prepare", "Retry", 0, "ErrorEquals"],
            ["States.ALL"],
            "State 'Prepare' has States.ALL in Retry",
        ),
        (
            ["States", "Prepare", "Catch", 0, "Next"],
            "Nowhere",
            "State 'Prepare' has Catch Next 'Nowhere'",
        ),
        (["States", "Route", "Default"], "Nowhere", "State 'Route' has Default 'Nowhere'"),
        (
            ["States", "Route", "Choices"],
            [{"Variable": "$.x", "Next": "Done"}],
            "State 'Route' has a Choice rule",
        ),
        (["States", "Wait", "Seconds"], 5, "State 'Wait' has not exactly one of Seconds"),
        (["States", "Wait", "SecondsPath"], None, "State 'Wait' has not exactly one of Seconds"),
        (["States", "Failed", "Error"], "X", "State 'Failed' has both Error and ErrorPath"),
        (["States", "Failed", "CausePath"], "States.Bad($)", "State 'Failed' has CausePath"),
        (["States", "Fan", "Branches"], [], "State 'Fan' has no Branches"),
        (
            ["States", "Fan", "Branches", 0, "States", "B"],
            {"Type": "Pass", "Next": "Gone"},
            "State 'B' has Next 'Gone'",
        ),
        (
            ["States", "Each", "ItemProcessor", "ProcessorConfig", "Mode"],
            "DISTRIBUTED",
            "State 'Each' uses a DISTRIBUTED Map",
        ),
        (
            ["States", "Each", "ItemReader"],
            {},
            "State 'Each' uses the Distributed Map field 'ItemReader'",
        ),
        (
            ["States", "Each", "Iterator"],
            {"StartAt": "X", "States": {}},
            "State 'Each' has not exactly one of ItemProcessor",
        ),
        (
            ["States", "Each", "ItemProcessor", "States", "Submit", "Resource"],
            "arn:aws:states:::ecs:runTask",
            "State 'Submit' uses Resource",
        ),
        (
            ["States", "Each", "ItemProcessor", "StartAt"],
            "Nope",
            "A branch of state 'Each' has StartAt 'Nope'",
        ),
    ],
)
def test_rejections_name_the_state(path, value, message):
    with pytest.raises(UnsupportedDefinition) as caught:
        check(mutated(path, value))
    text = str(caught.value)
    assert text.startswith(message)
    assert "which the local backend cannot run:" in text
    assert text.endswith(".") and text.count("\n") == 0
    assert isinstance(caught.value, N2NError)
