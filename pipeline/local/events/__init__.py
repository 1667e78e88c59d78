"""EventBridge of the local backend: scheduled rules that start state machine executions."""
