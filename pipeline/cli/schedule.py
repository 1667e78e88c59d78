"""``n2n schedule``: the report as a SageMaker Pipeline (one notebook-job step) started by
an EventBridge schedule; ``--delete`` removes both."""

from __future__ import annotations

import argparse

import boto3

from pipeline.cli.report import add_window_options, window_from
from pipeline.deploy import DEFAULT_STACK
from pipeline.reports.schedule import (
    DEFAULT_INSTANCE_TYPE,
    ReportSchedule,
    ScheduleError,
    delete_schedule,
    eventbridge_cron,
    put_schedule,
    sdk,
)
from pipeline.reports.studio import StudioApp, execution_role, studio_app


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", choices=["aws"], default="aws", help="the report runs on SageMaker (aws)"
    )
    parser.add_argument(
        "--stack", default=DEFAULT_STACK, help=f"stack name (default {DEFAULT_STACK})"
    )
    parser.add_argument("--region", help="AWS region (default: Studio's, else the profile's)")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument(
        "--cron", help='EventBridge cron expression in UTC, e.g. "cron(0 6 * * ? *)"'
    )
    parser.add_argument(
        "--instance-type",
        default=DEFAULT_INSTANCE_TYPE,
        help=f"instance of the notebook job (default {DEFAULT_INSTANCE_TYPE})",
    )
    add_window_options(parser)
    parser.add_argument(
        "--role",
        help="IAM role that runs the job and that EventBridge Scheduler assumes "
        "(default: Studio's execution role, else your own role)",
    )
    parser.add_argument(
        "--delete", action="store_true", help="delete the report's pipeline and schedule"
    )


def _create(args: argparse.Namespace, session: boto3.session.Session, app: StudioApp | None) -> int:
    if not args.cron:
        raise ScheduleError('Say when with --cron, e.g. --cron "cron(0 6 * * ? *)" (or --delete).')
    cron = eventbridge_cron(args.cron)
    window = window_from(args)
    schedule = ReportSchedule(
        args.stack, cron, args.instance_type, window["last_n"], window["since"]
    )
    api = sdk(session.region_name)
    sagemaker_session = api.Session(boto_session=session)
    role = args.role or execution_role(app, sagemaker_session)
    created = put_schedule(schedule, api, sagemaker_session, role)
    print(f"SageMaker Pipeline {schedule.name}: {created['pipeline_arn']}")
    print(f"EventBridge schedule cron({cron}) UTC: {created['schedule_arn']}")
    print(f"It runs 06_report on {args.instance_type} with {schedule.parameters}.")
    return 0


def run(args: argparse.Namespace) -> int:
    app = studio_app()
    session = boto3.session.Session(
        profile_name=args.profile, region_name=args.region or (app.region if app else None)
    )
    if not session.region_name:
        raise ScheduleError("No AWS region: pass --region or set AWS_REGION.")
    if not args.delete:
        return _create(args, session, app)
    deleted = delete_schedule(args.stack, session)
    print(f"Deleted {' and '.join(deleted)}." if deleted else "Nothing to delete.")
    return 0
