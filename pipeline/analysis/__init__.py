"""Analysis of a run: its timeline (read through any backend's boto3-shaped clients, or
from a trace), the calibrated model, costs, metrics and plots. Nothing here imports a
backend: the clients it is given decide where the data comes from."""
