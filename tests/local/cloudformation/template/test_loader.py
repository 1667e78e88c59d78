"""load_template: YAML short tags and JSON bodies → long-form intrinsics."""

from __future__ import annotations

import json

import pytest

from pipeline.local.cloudformation.template import TemplateError, load_template


def test_short_tags_become_long_form_intrinsics():
    template = load_template(
        """
AWSTemplateFormatVersion: 2010-09-09
Resources:
  Thing:
    Type: AWS::S3::Bucket
    Properties:
      A: !Ref Param
      B: !Sub "${AWS::StackName}-x"
      C: !Join [",", [a, b]]
      D: !Select [0, !GetAZs ""]
      E: !Split [",", "a,b"]
      F: !Base64 text
      G: !FindInMap [Map, Top, Second]
      H: !ImportValue Shared
      I: !Cidr ["10.0.0.0/16", 2, 8]
"""
    )
    properties = template["Resources"]["Thing"]["Properties"]
    assert properties == {
        "A": {"Ref": "Param"},
        "B": {"Fn::Sub": "${AWS::StackName}-x"},
        "C": {"Fn::Join": [",", ["a", "b"]]},
        "D": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "E": {"Fn::Split": [",", "a,b"]},
        "F": {"Fn::Base64": "text"},
        "G": {"Fn::FindInMap": ["Map", "Top", "Second"]},
        "H": {"Fn::ImportValue": "Shared"},
        "I": {"Fn::Cidr": ["10.0.0.0/16", 2, 8]},
    }
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"


def test_getatt_dotted_and_list_forms():
    template = load_template(
        """
Outputs:
  Dotted: {Value: !GetAtt Bucket.Arn}
  Nested: {Value: !GetAtt Db.Endpoint.Address}
  Listed: {Value: !GetAtt [Bucket, DomainName]}
"""
    )
    outputs = template["Outputs"]
    assert outputs["Dotted"]["Value"] == {"Fn::GetAtt": ["Bucket", "Arn"]}
    assert outputs["Nested"]["Value"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert outputs["Listed"]["Value"] == {"Fn::GetAtt": ["Bucket", "DomainName"]}


def test_sub_list_form_and_nested_if_with_novalue():
    template = load_template(
        """
Value:
  Sub: !Sub [ "${Name}-${AWS::Region}", {Name: !Ref Prefix} ]
  If: !If [IsProd, !Ref Role, !Ref AWS::NoValue]
"""
    )
    assert template["Value"] == {
        "Sub": {"Fn::Sub": ["${Name}-${AWS::Region}", {"Name": {"Ref": "Prefix"}}]},
        "If": {"Fn::If": ["IsProd", {"Ref": "Role"}, {"Ref": "AWS::NoValue"}]},
    }


def test_condition_functions_tags():
    template = load_template(
        """
Conditions:
  A: !Equals [!Ref Env, prod]
  B: !Not [!Condition A]
  C: !And [!Condition A, !Condition B]
  D: !Or [!Condition A, !Equals [x, y]]
"""
    )
    assert template["Conditions"] == {
        "A": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "B": {"Fn::Not": [{"Condition": "A"}]},
        "C": {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]},
        "D": {"Fn::Or": [{"Condition": "A"}, {"Fn::Equals": ["x", "y"]}]},
    }


def test_block_style_tags_and_mapping_arguments():
    template = load_template(
        """
Value: !Sub
  - "${A}-${B}"
  - A: one
    B: !Ref Two
Json: !ToJsonString {a: 1}
"""
    )
    assert template["Value"] == {"Fn::Sub": ["${A}-${B}", {"A": "one", "B": {"Ref": "Two"}}]}
    assert template["Json"] == {"Fn::ToJsonString": {"a": 1}}


def test_scalars_keep_their_types():
    template = load_template("A: 1\nB: 0.25\nC: true\nD: '1'\nE: null\n")
    assert template == {"A": 1, "B": 0.25, "C": True, "D": "1", "E": None}


def test_json_body():
    body = json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}, "X": {"Ref": "B"}})
    assert load_template(body) == {
        "Resources": {"B": {"Type": "AWS::S3::Bucket"}},
        "X": {"Ref": "B"},
    }


def test_duplicate_key_is_an_error_naming_the_key_and_line():
    with pytest.raises(TemplateError, match=r"key Bucket twice .*line 5"):
        load_template(
            "Resources:\n"
            "  Bucket:\n"
            "    Type: AWS::S3::Bucket\n"
            "  Other: {Type: AWS::S3::Bucket}\n"
            "  Bucket:\n"
            "    Type: AWS::S3::Bucket\n"
        )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Resources: [unclosed", r"not valid YAML \(line \d+, column \d+\)"),
        ('{"Resources": ', r"not valid JSON \(line 1, column \d+\)"),
        ("- just\n- a list\n", "must be a mapping"),
        ("", "must be a mapping"),
    ],
)
def test_unreadable_bodies(body, message):
    with pytest.raises(TemplateError, match=message):
        load_template(body)
