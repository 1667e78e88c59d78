"""resolve_stack: dependency order, cycles, outputs, policies, sections and the namer."""

from __future__ import annotations

import pytest

from pipeline.local.cloudformation.template import TemplateError, load_template, resolve_stack

ORDERED = """
Resources:
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      DefinitionString: !Sub "${Queue}|${Definition}|${Role.Arn}"
  Queue:
    Type: AWS::Batch::JobQueue
    Properties:
      ComputeEnvironmentOrder:
        - {Order: 1, ComputeEnvironment: !Ref Compute}
  Definition:
    Type: AWS::Batch::JobDefinition
    DependsOn: [LogGroup]
  Role:
    Type: AWS::IAM::Role
    Metadata:
      Uses: !GetAtt Topic.TopicArn
  Compute:
    Type: AWS::Batch::ComputeEnvironment
  LogGroup:
    Type: AWS::Logs::LogGroup
  Topic:
    Type: AWS::SNS::Topic
    DependsOn: Compute
"""


def test_resources_come_in_dependency_order_with_template_order_for_ties():
    stack = resolve_stack(load_template(ORDERED), "demo", {})
    order = list(stack.resources)
    assert order == ["Compute", "Queue", "LogGroup", "Definition", "Topic", "Role", "Machine"]
    assert stack.resources["Machine"].depends_on == ["Definition", "Queue", "Role"]
    assert stack.resources["Definition"].depends_on == ["LogGroup"]
    assert stack.resources["Topic"].depends_on == ["Compute"]
    assert stack.resources["Role"].depends_on == ["Topic"]
    assert stack.resources["Role"].metadata == {
        "Uses": stack.resources["Topic"].attributes["TopicArn"]
    }
    for position, name in enumerate(order):
        assert all(order.index(need) < position for need in stack.resources[name].depends_on)


def test_only_the_if_branch_taken_makes_a_dependency():
    template = load_template(
        """
Parameters:
  Flag: {Type: String, Default: "no"}
Conditions:
  Enabled: !Equals [!Ref Flag, "yes"]
Resources:
  A:
    Type: AWS::S3::Bucket
    Properties:
      Tags: [{Key: k, Value: !If [Enabled, !Ref B, none]}]
  B:
    Type: AWS::S3::Bucket
    Properties:
      Tags: [{Key: k, Value: !Ref A}]
"""
    )
    stack = resolve_stack(template, "demo", {})
    assert list(stack.resources) == ["A", "B"]
    with pytest.raises(TemplateError, match=r"^Resources (A → B → A|B → A → B) depend"):
        resolve_stack(template, "demo", {"Flag": "yes"})


@pytest.mark.parametrize(
    ("resources", "cycle"),
    [
        (
            """
  A: {Type: AWS::S3::Bucket, DependsOn: B}
  B: {Type: AWS::S3::Bucket, Properties: {X: !GetAtt C.Arn}}
  C: {Type: AWS::S3::Bucket, Properties: {X: !Sub "${A}"}}
""",
            {"A", "B", "C"},
        ),
        ("  Self: {Type: AWS::S3::Bucket, Properties: {X: !Ref Self}}\n", {"Self"}),
    ],
)
def test_circular_references_are_an_error_naming_the_resources(resources, cycle):
    with pytest.raises(TemplateError) as raised:
        resolve_stack(load_template("Resources:\n" + resources), "demo", {})
    message = str(raised.value)
    named = set(message.removeprefix("Resources ").split(" depend")[0].split(" → "))
    assert named == cycle
    assert message.endswith(
        "depend on each other in a circle (through Ref, Fn::GetAtt, Fn::Sub or DependsOn): "
        "remove one of these references."
    )


def test_depends_on_errors():
    with pytest.raises(TemplateError) as raised:
        resolve_stack(
            load_template("Resources:\n  A: {Type: AWS::S3::Bucket, DependsOn: [Nope]}\n"), "s", {}
        )
    assert str(raised.value) == (
        "Resource A depends on Nope, which is not a resource of this template: "
        "fix the name in DependsOn."
    )
    template = load_template(
        """
Conditions:
  Never: !Equals [a, b]
Resources:
  Unused: {Type: AWS::S3::Bucket, Condition: Never}
  A: {Type: AWS::S3::Bucket, DependsOn: Unused}
"""
    )
    with pytest.raises(TemplateError, match=r"^Resource A depends on Unused, whose condition"):
        resolve_stack(template, "s", {})


OUTPUTS = """
Parameters:
  Names: {Type: CommaDelimitedList, Default: "a,b"}
  Count: {Type: Number, Default: 2}
Conditions:
  Never: !Equals [a, b]
Resources:
  Bucket: {Type: AWS::S3::Bucket}
  Zones: {Type: AWS::S3::Bucket, Condition: Never}
Outputs:
  BucketName:
    Description: Where results go.
    Value: !Ref Bucket
    Export: {Name: !Sub "${AWS::StackName}-Bucket"}
  BucketArn: {Value: !GetAtt Bucket.Arn}
  Names: {Value: !Ref Names}
  Count: {Value: !Ref Count}
  Number: {Value: 5}
  Flag: {Value: true}
  Hidden: {Value: !Ref Zones, Condition: Never}
"""


def test_outputs_are_strings_with_descriptions_and_exports():
    stack = resolve_stack(load_template(OUTPUTS), "demo", {})
    bucket = stack.resources["Bucket"]
    assert stack.outputs == {
        "BucketName": bucket.physical_id,
        "BucketArn": bucket.attributes["Arn"],
        "Names": "a,b",
        "Count": "2",
        "Number": "5",
        "Flag": "true",
    }
    assert stack.output_descriptions == {"BucketName": "Where results go."}
    assert stack.exports == {"demo-Bucket": bucket.physical_id}


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("Bad: {Description: no value}", "Output Bad has no Value: add one."),
        ("Bad: {Value: {a: b}}", "Output Bad needs a string for its Value but got a mapping."),
        ("Bad: {Value: !Ref AWS::NoValue}", "Output Bad needs a string for its Value but got"),
        ("Bad: {Value: !ImportValue X}", "Output Bad uses Fn::ImportValue"),
        ("Bad: {Value: !Ref Zones}", "Output Bad refers to Zones, whose condition Never is false"),
    ],
)
def test_output_errors_name_the_output(output, message):
    body = OUTPUTS.split("Outputs:")[0] + "Outputs:\n  " + output + "\n"
    with pytest.raises(TemplateError) as raised:
        resolve_stack(load_template(body), "demo", {})
    assert str(raised.value).startswith(message)


def test_policies_and_metadata():
    template = load_template(
        """
Resources:
  Kept:
    Type: AWS::EFS::FileSystem
    DeletionPolicy: Retain
    UpdateReplacePolicy: Snapshot
    Metadata: {checkov: {skip: [{id: CKV_1, comment: why}]}}
  Plain: {Type: AWS::S3::Bucket}
"""
    )
    stack = resolve_stack(template, "demo", {})
    kept, plain = stack.resources["Kept"], stack.resources["Plain"]
    assert (kept.deletion_policy, kept.update_replace_policy) == ("Retain", "Snapshot")
    assert kept.metadata == {"checkov": {"skip": [{"id": "CKV_1", "comment": "why"}]}}
    assert (plain.deletion_policy, plain.update_replace_policy, plain.metadata) == (
        None,
        None,
        {},
    )


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            "{Type: AWS::S3::Bucket, DeletionPolicy: Keep}",
            "Resource A has DeletionPolicy Keep: use one of Delete, Retain, "
            "RetainExceptOnCreate, Snapshot.",
        ),
        (
            "{Type: AWS::S3::Bucket, DeletionPolicy: !Ref AWS::Region}",
            "Resource A uses an intrinsic function in DeletionPolicy, which needs "
            "Transform: AWS::LanguageExtensions",
        ),
        (
            "{Type: AWS::S3::Bucket, Propertes: {}}",
            "Resource A has attribute Propertes, which the local backend does not honour",
        ),
        (
            "{Type: AWS::AutoScaling::AutoScalingGroup, UpdatePolicy: {}}",
            "Resource A has attribute UpdatePolicy",
        ),
        ("{Properties: {}}", "Resource A has no Type: add one, e.g. AWS::S3::Bucket."),
        ("{Type: AWS::S3::Bucket, Properties: [a]}", "Resource A has Properties that are not"),
        ("{Type: AWS::S3::Bucket, Condition: Nope}", "Resource A uses condition Nope, which"),
    ],
)
def test_resource_declaration_errors(resource, message):
    with pytest.raises(TemplateError) as raised:
        resolve_stack(load_template(f"Resources:\n  A: {resource}\n"), "demo", {})
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "Hooks: {}\nResources: {A: {Type: AWS::S3::Bucket}}",
            "Template section Hooks is not supported locally: remove it",
        ),
        (
            "Transform: AWS::Serverless-2016-10-31\nResources: {A: {Type: AWS::S3::Bucket}}",
            "Template uses Transform AWS::Serverless-2016-10-31, which the local backend cannot "
            "expand: deploy the processed template instead.",
        ),
        (
            "Transform: [AWS::LanguageExtensions, AWS::Include]\n"
            "Resources: {A: {Type: AWS::S3::Bucket}}",
            "Template uses Transform AWS::Include",
        ),
        (
            "AWSTemplateFormatVersion: 2011-01-01\nResources: {A: {Type: AWS::S3::Bucket}}",
            "Template has AWSTemplateFormatVersion 2011-01-01: use 2010-09-09.",
        ),
        ("Resources: {}", "Template has no resources: declare at least one under Resources."),
        ("Description: only", "Template has no resources"),
        ("Resources: [a]", "Template section Resources must be a mapping"),
        (
            "Transform: AWS::LanguageExtensions\n"
            "Resources:\n"
            "  Fn::ForEach::Buckets: [B, [x, y], {'Bucket${B}': {Type: AWS::S3::Bucket}}]",
            "Template uses Fn::ForEach::Buckets, which the local backend cannot expand",
        ),
        (
            "Conditions:\n  On: !Equals [a, a]\nResources: {A: {Type: AWS::S3::Bucket}}",
            "Conditions entry True needs a name of letters and digits only: rename it "
            "(YAML reads unquoted On, Off, Yes and No as booleans).",
        ),
        (
            "Resources: {My-Bucket: {Type: AWS::S3::Bucket}}",
            "Resources entry 'My-Bucket' needs a name of letters and digits only",
        ),
    ],
)
def test_template_level_errors(body, message):
    with pytest.raises(TemplateError) as raised:
        resolve_stack(load_template(body), "demo", {})
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("name", ["1abc", "has_underscore", "", "x" * 129])
def test_stack_name_must_be_valid(name):
    with pytest.raises(TemplateError, match="must start with a letter"):
        resolve_stack(load_template(ORDERED), name, {})


def test_physical_ids_are_deterministic_per_stack_and_logical_id():
    template = load_template(ORDERED)
    first = resolve_stack(template, "demo", {})
    again = resolve_stack(template, "demo", {})
    other = resolve_stack(template, "other", {})
    for name, resource in first.resources.items():
        assert again.resources[name].physical_id == resource.physical_id
        assert again.resources[name].attributes == resource.attributes
        assert other.resources[name].physical_id != resource.physical_id
    assert first.stack_id == again.stack_id != other.stack_id


def test_the_namer_decides_physical_ids_and_attributes():
    calls = []

    def namer(logical_id: str, resource_type: str, properties: dict) -> tuple[str, dict]:
        calls.append((logical_id, resource_type, properties))
        return f"local-{logical_id}", {"Arn": f"arn:local:{logical_id}", "Extra": [1, 2]}

    template = load_template(
        """
Resources:
  First:
    Type: Custom::Thing
    Properties: {Size: 3, Region: !Ref AWS::Region}
  Second:
    Type: AWS::S3::Bucket
    Properties:
      Name: !Ref First
      Arn: !GetAtt First.Arn
      Extra: !Select [1, !GetAtt First.Extra]
Outputs:
  Arn: {Value: !GetAtt Second.Arn}
  Extra: {Value: !GetAtt First.Extra}
"""
    )
    stack = resolve_stack(template, "demo", {}, namer=namer, region="eu-west-1")
    assert calls == [
        ("First", "Custom::Thing", {"Size": 3, "Region": "eu-west-1"}),
        (
            "Second",
            "AWS::S3::Bucket",
            {"Name": "local-First", "Arn": "arn:local:First", "Extra": 2},
        ),
    ]
    assert stack.outputs == {"Arn": "arn:local:Second", "Extra": "1,2"}
    assert stack.resources["Second"].physical_id == "local-Second"
    assert stack.region == "eu-west-1"


def test_json_template_resolves_like_yaml():
    body = """{
      "AWSTemplateFormatVersion": "2010-09-09",
      "Description": "json",
      "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Queue": {"Type": "AWS::Batch::JobQueue",
                  "Properties": {"Tag": {"Fn::Sub": "${Bucket}-${AWS::Region}"}}}
      },
      "Outputs": {"Queue": {"Value": {"Ref": "Queue"}}}
    }"""
    stack = resolve_stack(load_template(body), "demo", {})
    assert stack.description == "json"
    bucket = stack.resources["Bucket"].physical_id
    assert stack.resources["Queue"].properties == {"Tag": f"{bucket}-us-east-1"}
    assert stack.outputs["Queue"].startswith("arn:aws:batch:us-east-1:000000000000:job-queue/")


RULES = """\
Parameters:
  Size: {Type: String, Default: small}
  Zones: {Type: CommaDelimitedList, Default: "a,b"}
Rules:
  SmallOnlyInTest:
    RuleCondition: !Equals [!Ref AWS::Region, us-east-1]
    Assertions:
      - Assert:
          Fn::Contains: [[small, medium], !Ref Size]
        AssertDescription: Use a small or medium Size in us-east-1.
  KnownZones:
    Assertions:
      - Assert:
          Fn::EachMemberIn: [!Ref Zones, [a, b, c]]
        AssertDescription: Name zones a, b or c.
      - Assert:
          Fn::Not: [{"Fn::EachMemberEquals": [!Ref Zones, c]}]
Resources: {A: {Type: AWS::S3::Bucket}}
"""


@pytest.mark.parametrize(
    ("parameters", "region", "message"),
    [
        ({}, "us-east-1", None),
        ({"Size": "large"}, "eu-west-1", None),  # RuleCondition false: the rule is skipped
        ({"Size": "large"}, "us-east-1", "Use a small or medium Size in us-east-1."),
        ({"Zones": "a,d"}, "us-east-1", "Name zones a, b or c."),
        ({"Zones": "c,c"}, "us-east-1", "The parameters do not meet template rule KnownZones."),
    ],
)
def test_rules_are_checked_as_cloudformation_checks_them(parameters, region, message):
    """Rules (CloudFormation User Guide, Rules section): a rule applies when its
    RuleCondition holds; the first false Assert stops the stack with its description."""
    template = load_template(RULES)
    if message is None:
        resolve_stack(template, "demo", parameters, region=region)
        return
    with pytest.raises(TemplateError) as raised:
        resolve_stack(template, "demo", parameters, region=region)
    assert str(raised.value) == message
