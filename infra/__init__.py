"""The CloudFormation templates of the kit, shipped inside it as ``pipeline.infra``."""
