"""Scheduled reports, the SageMaker schedule and Studio detection."""
