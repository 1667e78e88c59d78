"""The kit's exception types: one per domain, each message one sentence saying what to change."""


class N2NError(Exception):
    """Base of every error a user can hit; the CLI prints its message without a traceback."""


class InvalidRunInput(N2NError, ValueError):
    """The execution input (id_count, ids_per_node, work, dependency) is not acceptable."""


class WorkerError(N2NError):
    """A Batch worker step could not run with the settings it was given."""


class StackError(N2NError):
    """A CloudFormation stack (on AWS or on the local backend) could not be created,
    updated, found or deleted."""


class StorageError(N2NError):
    """An egress store URL or object could not be used."""
