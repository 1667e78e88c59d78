"""What an operator does to a run after starting it: rerun its missing indices, stop it,
watch it live. Every module talks to boto3-shaped clients only, so it serves both backends."""
