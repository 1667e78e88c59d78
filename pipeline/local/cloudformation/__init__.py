"""The local stand-in for CloudFormation: template resolver, stacks, provisioners, client."""
