"""Deploy to and tear down from AWS: one small client per concern, all from one session.

:mod:`session` resolves credentials and region, :mod:`package` builds the deterministic
zips, :mod:`build` gets the worker image built by CodeBuild, :mod:`stack` runs
CloudFormation change sets, :mod:`teardown` deletes stacks and purges what they retained,
and :mod:`deploy` chains them into the ``aws`` deployer of :mod:`pipeline.deploy`.
"""
