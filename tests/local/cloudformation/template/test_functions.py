"""Intrinsic functions, conditions and AWS::NoValue, through load_template + resolve_stack."""

from __future__ import annotations

import base64
import re
import textwrap

import pytest

from pipeline.local.cloudformation.template import (
    ResolvedStack,
    TemplateError,
    load_template,
    resolve_stack,
)

HEAD = """
Parameters:
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Count: {Type: Number, Default: 3}
  Names: {Type: CommaDelimitedList, Default: "x,y,z"}
Mappings:
  Sizes:
    dev: {Vcpus: 1, Memory: "2048"}
    prod: {Vcpus: 4, Memory: "8192"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  CountIsThree: !Equals [!Ref Count, 3]
  Both: !And [!Condition IsDev, !Condition CountIsThree]
  Either: !Or [!Condition IsProd, !Equals [a, b]]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
"""


def _stack(
    resources: str, parameters: dict | None = None, head: str = HEAD, outputs: str = ""
) -> ResolvedStack:
    body = head + textwrap.indent(textwrap.dedent(resources), "  ")
    if outputs:
        body += "Outputs:\n" + textwrap.indent(textwrap.dedent(outputs), "  ")
    return resolve_stack(load_template(body), "demo", parameters or {})


def _properties(properties: str, parameters: dict | None = None) -> dict:
    """Resolve ``properties`` (YAML) as the properties of resource Thing."""
    block = textwrap.indent(textwrap.dedent(properties), "      ")
    stack = _stack(f"Thing:\n  Type: AWS::Batch::JobQueue\n  Properties:\n{block}", parameters)
    return stack.resources["Thing"].properties


def _error(properties: str, parameters: dict | None = None) -> str:
    with pytest.raises(TemplateError) as raised:
        _properties(properties, parameters)
    return str(raised.value)


def test_ref_parameters_pseudo_parameters_and_resources():
    properties = _properties(
        """
        Env: !Ref Env
        Stack: !Ref AWS::StackName
        StackId: !Ref AWS::StackId
        Region: !Ref AWS::Region
        Account: !Ref AWS::AccountId
        Partition: !Ref AWS::Partition
        Suffix: !Ref AWS::URLSuffix
        Notifications: !Ref AWS::NotificationARNs
        Bucket: !Ref Bucket
        """
    )
    assert properties["Env"] == "dev"
    assert properties["Stack"] == "demo"
    assert properties["StackId"].startswith(
        "arn:aws:cloudformation:us-east-1:000000000000:stack/demo/"
    )
    assert (properties["Region"], properties["Account"]) == ("us-east-1", "000000000000")
    assert (properties["Partition"], properties["Suffix"]) == ("aws", "amazonaws.com")
    assert properties["Notifications"] == []
    assert re.fullmatch(r"demo-bucket-[a-z2-7]{13}", properties["Bucket"])


def test_pseudo_parameters_follow_region_account_and_stack_id():
    template = load_template(
        """
Resources:
  Thing:
    Type: AWS::Batch::JobQueue
    Properties:
      All: !Join
        - "|"
        - [!Ref AWS::Partition, !Ref AWS::URLSuffix, !Ref AWS::Region, !Sub "${AWS::AccountId}",
           !Ref AWS::StackId]
"""
    )
    stack = resolve_stack(
        template, "demo", {}, region="cn-north-1", account="123456789012", stack_id="sid"
    )
    assert stack.resources["Thing"].properties["All"] == (
        "aws-cn|amazonaws.com.cn|cn-north-1|123456789012|sid"
    )
    assert stack.stack_id == "sid"


def test_getatt_both_forms_and_attribute_by_ref():
    stack = _stack(
        """
Thing:
  Type: AWS::Batch::JobQueue
  Properties:
    Dotted: !GetAtt Bucket.Arn
    Listed: !GetAtt [Bucket, DomainName]
    LongForm: {"Fn::GetAtt": ["Bucket", "RegionalDomainName"]}
    ByRef: !GetAtt [Bucket, !Ref Attribute]
""",
        head=HEAD.replace("Parameters:", "Parameters:\n  Attribute: {Type: String, Default: Arn}"),
    )
    bucket = stack.resources["Bucket"]
    properties = stack.resources["Thing"].properties
    assert properties == {
        "Dotted": bucket.attributes["Arn"],
        "Listed": bucket.attributes["DomainName"],
        "LongForm": bucket.attributes["RegionalDomainName"],
        "ByRef": bucket.attributes["Arn"],
    }
    assert bucket.attributes["Arn"] == f"arn:aws:s3:::{bucket.physical_id}"


def test_sub_variables_attributes_escapes_and_list_form():
    stack = _stack(
        """
Thing:
  Type: AWS::Batch::JobQueue
  Properties:
    Plain: !Sub "${AWS::StackName}-${Env}-${Count}"
    Attribute: !Sub "${Bucket.Arn}/*"
    Resource: !Sub "s3://${Bucket}/prefix"
    Escape: !Sub "${!Literal}-${!Bucket.Arn}-$${Env}"
    NoVariables: !Sub "plain $ text {not} a ${!x}"
    Listed: !Sub [ "${Name}-${Env}-${Arn}",
                   {Name: !Select [1, !Ref Names], Arn: !GetAtt Bucket.Arn} ]
    Shadow: !Sub ["${Env}", {Env: overridden}]
    JsonPath: !Sub '{"x.$": "$.input", "y": "${Env}"}'
"""
    )
    bucket = stack.resources["Bucket"]
    assert stack.resources["Thing"].properties == {
        "Plain": "demo-dev-3",
        "Attribute": f"{bucket.attributes['Arn']}/*",
        "Resource": f"s3://{bucket.physical_id}/prefix",
        "Escape": "${Literal}-${Bucket.Arn}-$dev",
        "NoVariables": "plain $ text {not} a ${x}",
        "Listed": f"y-dev-{bucket.attributes['Arn']}",
        "Shadow": "overridden",
        "JsonPath": '{"x.$": "$.input", "y": "dev"}',
    }


def test_sub_of_a_list_is_an_error():
    assert _error("Bad: !Sub '${Names}'") == (
        "Resource Thing uses ${Names} in Fn::Sub, which is a list of 3, not a string: "
        "wrap it in Fn::Join or Fn::Select."
    )


def test_join_select_split_getazs_base64_cidr_findinmap():
    properties = _properties(
        """
        Joined: !Join ["-", [a, !Ref Env, 3, !Ref AWS::NoValue]]
        JoinedList: !Join [",", !Ref Names]
        Empty: !Join ["", []]
        Selected: !Select ["2", !Ref Names]
        SelectedInt: !Select [0, [first, second]]
        Split: !Split ["/", "a/b/c"]
        SelectSplit: !Select [1, !Split [",", "p,q,r"]]
        Zones: !GetAZs ""
        ZonesOfRegion: !GetAZs eu-west-1
        FirstZone: !Select [0, {"Fn::GetAZs": !Ref AWS::Region}]
        Encoded: {"Fn::Base64": !Sub "#!/bin/sh ${Env}"}
        Blocks: !Cidr ["10.0.0.0/16", 3, 8]
        Memory: !FindInMap [Sizes, !Ref Env, Memory]
        Vcpus: !FindInMap [Sizes, prod, Vcpus]
        """
    )
    assert properties == {
        "Joined": "a-dev-3",
        "JoinedList": "x,y,z",
        "Empty": "",
        "Selected": "z",
        "SelectedInt": "first",
        "Split": ["a", "b", "c"],
        "SelectSplit": "q",
        "Zones": ["us-east-1a", "us-east-1b", "us-east-1c"],
        "ZonesOfRegion": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        "FirstZone": "us-east-1a",
        "Encoded": base64.b64encode(b"#!/bin/sh dev").decode(),
        "Blocks": ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"],
        "Memory": "2048",
        "Vcpus": 4,
    }


def test_values_keep_their_template_types():
    properties = _properties(
        """
        Int: 3
        Float: 0.5
        Bool: true
        Nested: {List: [1, "2", false]}
        """
    )
    assert properties == {"Int": 3, "Float": 0.5, "Bool": True, "Nested": {"List": [1, "2", False]}}


def test_conditions_evaluate_and_are_reported():
    stack = _stack("")
    assert stack.conditions == {
        "IsProd": False,
        "IsDev": True,
        "CountIsThree": True,
        "Both": True,
        "Either": False,
    }
    assert _stack("", {"Env": "prod", "Count": "4"}).conditions == {
        "IsProd": True,
        "IsDev": False,
        "CountIsThree": False,
        "Both": False,
        "Either": True,
    }


def test_if_picks_a_branch_and_novalue_removes_keys_and_items():
    yaml_properties = """
        Role: !If [IsProd, !GetAtt Bucket.Arn, !Ref AWS::NoValue]
        Size: !If [IsProd, 4, 1]
        Tags:
          - {Key: always, Value: "1"}
          - !If [IsProd, {Key: prod, Value: "1"}, !Ref AWS::NoValue]
        Nested:
          Inner: !If [IsDev, !If [CountIsThree, three, other], !Ref AWS::NoValue]
        Gone: !Ref AWS::NoValue
        """
    dev = _properties(yaml_properties)
    assert dev == {
        "Size": 1,
        "Tags": [{"Key": "always", "Value": "1"}],
        "Nested": {"Inner": "three"},
    }
    prod = _properties(yaml_properties, {"Env": "prod"})
    assert prod["Size"] == 4
    assert prod["Role"].startswith("arn:aws:s3:::")
    assert prod["Tags"][1] == {"Key": "prod", "Value": "1"}
    assert prod["Nested"] == {}


def test_if_does_not_resolve_the_branch_not_taken():
    properties = _properties("Value: !If [IsProd, !ImportValue Nope, fine]")
    assert properties == {"Value": "fine"}


def test_resource_and_output_conditions():
    stack = _stack(
        """
ProdOnly:
  Type: AWS::S3::Bucket
  Condition: IsProd
DevOnly:
  Type: AWS::S3::Bucket
  Condition: IsDev
""",
        outputs="""
ProdBucket:
  Condition: IsProd
  Value: !Ref ProdOnly
DevBucket:
  Condition: IsDev
  Value: !Ref DevOnly
Either:
  Value: !If [IsProd, !Ref ProdOnly, !Ref DevOnly]
""",
    )
    assert list(stack.resources) == ["Bucket", "DevOnly"]
    dev_bucket = stack.resources["DevOnly"].physical_id
    assert stack.outputs == {"DevBucket": dev_bucket, "Either": dev_bucket}


def test_iam_condition_keys_are_not_taken_for_intrinsics():
    properties = _properties(
        """
        Statement:
          - Effect: Deny
            Condition:
              Bool: {"aws:SecureTransport": "false"}
          - Condition: {StringEquals: {"a": "b"}}
        """
    )
    assert properties["Statement"][1] == {"Condition": {"StringEquals": {"a": "b"}}}


def test_language_extensions():
    head = HEAD.replace("Parameters:", "Transform: AWS::LanguageExtensions\nParameters:")
    stack = _stack(
        """
Thing:
  Type: AWS::Batch::JobQueue
  DeletionPolicy: !If [IsProd, Retain, Delete]
  UpdateReplacePolicy: !Ref Policy
  Properties:
    Length: !Length [a, b, c]
    Json: !ToJsonString {a: [1, 2], b: !Ref Env}
    Default: !FindInMap [Sizes, staging, Memory, {DefaultValue: "1024"}]
    Found: !FindInMap [Sizes, dev, Memory, {DefaultValue: "1024"}]
""",
        head=head.replace("Parameters:", "Parameters:\n  Policy: {Type: String, Default: Retain}"),
    )
    thing = stack.resources["Thing"]
    assert thing.properties == {
        "Length": 3,
        "Json": '{"a":[1,2],"b":"dev"}',
        "Default": "1024",
        "Found": "2048",
    }
    assert (thing.deletion_policy, thing.update_replace_policy) == ("Delete", "Retain")


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        (
            "Value: !ImportValue SharedVpc",
            "Resource Thing uses Fn::ImportValue, which the local backend cannot resolve: "
            "pass the exported value in as a parameter instead.",
        ),
        (
            "Value: {'Fn::Transform': {Name: Macro}}",
            "Resource Thing uses Fn::Transform, which the local backend cannot resolve: "
            "expand the macro into plain template values.",
        ),
        (
            "Value: !Length [a]",
            "Resource Thing uses Fn::Length, which the local backend cannot resolve: "
            "replace it with a parameter or a literal value.",
        ),
        (
            "Value: !Equals [a, b]",
            "Resource Thing uses Fn::Equals outside the Conditions section: declare a condition "
            "with it and use Fn::If.",
        ),
        (
            "Value: !Ref Nothing",
            "Resource Thing refers to Nothing, which is neither a parameter, a pseudo parameter "
            "nor a resource of this template: fix the name or declare it.",
        ),
        (
            "Value: !GetAtt Bucket.Colour",
            "Resource Thing asks for Bucket.Colour, which the local backend does not provide for "
            "AWS::S3::Bucket: use one of Arn, DomainName, DualStackDomainName, "
            "RegionalDomainName, WebsiteURL, or Ref Bucket.",
        ),
        (
            "Value: !Sub '${Bucket.Colour}'",
            "Resource Thing asks for Bucket.Colour",
        ),
        (
            "Value: !GetAtt Nothing.Arn",
            "Resource Thing refers to Nothing, which is neither",
        ),
        (
            "Value: !If [Unknown, a, b]",
            "Resource Thing uses condition Unknown, which the Conditions section does not "
            "declare: declare it or fix the name.",
        ),
        (
            "Value: !Select [3, [a, b]]",
            "Resource Thing uses Fn::Select index 3 on a list of 2: pick an index from 0 to 1.",
        ),
        ("Value: !Select [0, abc]", "Resource Thing needs a list for the Fn::Select list"),
        ("Value: !Join [',', a]", "Resource Thing needs a list for the Fn::Join values"),
        ("Value: !Join [',', [[a]]]", "Resource Thing uses Fn::Join on a list that holds"),
        ("Value: !Join [',']", "Resource Thing uses Fn::Join with a list of 1: it takes 2"),
        (
            "Value: !FindInMap [Sizes, test, Memory]",
            "Resource Thing uses Fn::FindInMap [Sizes, test, Memory], which the Mappings",
        ),
        ("Value: !Split ['', abc]", "Resource Thing uses Fn::Split with an empty delimiter."),
        ("Value: !Cidr ['10.0.0.0/30', 8, 1]", "Resource Thing uses Fn::Cidr for 8 blocks"),
        ("Value: !Cidr [nonsense, 1, 8]", "Resource Thing uses Fn::Cidr [nonsense, 1, 8]"),
        ("Value: !Base64 [a]", "Resource Thing needs a string for Fn::Base64"),
        ("Value: !Ref [a]", "Resource Thing uses Ref with a list of 1: Ref takes a name."),
        ("Value: !Sub [a, b, c]", "Resource Thing uses Fn::Sub with a list of 3"),
        ("Value: !Foo bar", "Resource Thing uses Fn::Foo, which the local backend cannot"),
    ],
)
def test_unresolvable_intrinsics_name_the_resource(properties, message):
    assert _error(properties).startswith(message)


def test_ref_to_a_resource_whose_condition_is_false():
    with pytest.raises(TemplateError) as raised:
        _stack(
            """
ProdBucket:
  Type: AWS::S3::Bucket
  Condition: IsProd
Thing:
  Type: AWS::Batch::JobQueue
  Properties:
    Bucket: !Ref ProdBucket
"""
        )
    assert str(raised.value) == (
        "Resource Thing refers to ProdBucket, whose condition IsProd is false: guard the "
        "reference with Fn::If on IsProd."
    )


def test_conditions_cannot_refer_to_resources():
    head = HEAD.replace("Conditions:", "Conditions:\n  Odd: !Equals [!Ref Bucket, x]")
    with pytest.raises(TemplateError, match=r"^Condition Odd refers to resource Bucket"):
        _stack("", head=head)


def test_condition_cycles_and_non_boolean_conditions():
    head = HEAD.replace("Conditions:", "Conditions:\n  A: !Not [!Condition B]\n  B: !Condition A")
    with pytest.raises(TemplateError, match=r"circle \(A → B → A\)"):
        _stack("", head=head)
    head = HEAD.replace("Conditions:", "Conditions:\n  Plain: yes-please")
    with pytest.raises(TemplateError, match=r"^Condition Plain needs a condition"):
        _stack("", head=head)
    head = HEAD.replace("Conditions:", "Conditions:\n  Short: !And [!Condition IsProd]")
    with pytest.raises(TemplateError, match=r"^Condition Short uses Fn::And with a list of 1"):
        _stack("", head=head)


def test_equals_compares_scalars_as_strings():
    head = HEAD.replace(
        "Conditions:",
        "Conditions:\n  Num: !Equals [1, '1']\n  Bool: !Equals [true, 'true']\n"
        "  Lists: !Equals [[1, 2], ['1', '2']]",
    )
    conditions = _stack("", head=head).conditions
    assert (conditions["Num"], conditions["Bool"], conditions["Lists"]) == (True, True, True)
